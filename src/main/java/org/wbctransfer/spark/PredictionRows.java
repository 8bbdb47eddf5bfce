package org.wbctransfer.spark;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelMetadata;

/**
 * The table {@code wbc spark predict} writes, one row per input file: {@code path}, {@code predicted}
 * (the class), {@code probability} (its probability), {@code p_<class>} for every class (the
 * columns of {@code wbc predict}'s CSV), {@code ood_score} and {@code out_of_distribution} when the
 * model has an out-of-distribution score, and {@code error}: null, or why the file could not be
 * classified (then every other column but {@code path} is null).
 */
final class PredictionRows {

    static final String PATH = "path";
    static final String PREDICTED = "predicted";
    static final String PROBABILITY = "probability";
    static final String ERROR = "error";

    private PredictionRows() {}

    static StructType schema(ModelMetadata md) {
        List<StructField> f = new ArrayList<>();
        f.add(DataTypes.createStructField(PATH, DataTypes.StringType, false));
        f.add(DataTypes.createStructField(PREDICTED, DataTypes.StringType, true));
        f.add(DataTypes.createStructField(PROBABILITY, DataTypes.DoubleType, true));
        for (String c : md.classes()) {
            f.add(DataTypes.createStructField("p_" + c, DataTypes.DoubleType, true));
        }
        if (md.ood() != null) {
            f.add(DataTypes.createStructField(Evaluation.OOD_SCORE, DataTypes.DoubleType, true));
            f.add(DataTypes.createStructField(Evaluation.OOD_FLAG, DataTypes.BooleanType, true));
        }
        f.add(DataTypes.createStructField(ERROR, DataTypes.StringType, true));
        return DataTypes.createStructType(f);
    }

    static Row row(ModelMetadata md, String path, float[] p, double ood, boolean outOfDistribution) {
        Object[] v = new Object[width(md)];
        int best = Classifier.argMax(p);
        v[0] = path;
        v[1] = md.classes().get(best);
        v[2] = (double) p[best];
        for (int k = 0; k < p.length; k++) {
            v[3 + k] = (double) p[k];
        }
        if (md.ood() != null) {
            v[3 + p.length] = ood;
            v[4 + p.length] = outOfDistribution;
        }
        return RowFactory.create(v);
    }

    static Row error(ModelMetadata md, String path, String problem) {
        Object[] v = new Object[width(md)];
        v[0] = path;
        v[v.length - 1] = problem;
        return RowFactory.create(v);
    }

    private static int width(ModelMetadata md) {
        return 4 + md.classes().size() + (md.ood() != null ? 2 : 0);
    }
}
