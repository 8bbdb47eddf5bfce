package org.wbctransfer.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.Normalization;

/**
 * {@code metadata.json} of a model directory: what a user of the weights must know to feed them
 * correctly (classes in output order, input size, normalization) and where they came from.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelMetadata(
        String format,
        String architecture,
        List<String> classes,
        List<Integer> inputShape,
        Normalization normalization,
        TrainConfig training,
        Provenance provenance,
        Map<String, Object> metrics,
        String intendedUse,
        @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
        Double temperature,
        OnnxInfo onnx) {

    /** Metadata without an ONNX graph (a run's model; {@code wbc export} adds {@link #onnx}). */
    public ModelMetadata(String format, String architecture, List<String> classes, List<Integer> inputShape,
            Normalization normalization, TrainConfig training, Provenance provenance, Map<String, Object> metrics,
            String intendedUse, Double temperature) {
        this(format, architecture, classes, inputShape, normalization, training, provenance, metrics, intendedUse,
                temperature, null);
    }

    public static final String FORMAT = "wbc-transfer-model/1";
    public static final String INTENDED_USE =
            "Research on white-blood-cell image classification and transfer learning. Not a medical device;"
                    + " not for diagnosis or treatment decisions.";

    public int imageSize() {
        return inputShape.get(inputShape.size() - 1);
    }

    /** The output index of a class named case-insensitively; -1 when the model has no such class. */
    public int classIndex(String name) {
        for (int i = 0; i < classes.size(); i++) {
            if (classes.get(i).equalsIgnoreCase(name)) {
                return i;
            }
        }
        return -1;
    }

    public ModelMetadata withMetrics(Map<String, Object> newMetrics) {
        return new ModelMetadata(format, architecture, classes, inputShape, normalization, training, provenance,
                newMetrics, intendedUse, temperature, onnx);
    }

    /**
     * The softmax temperature fitted on the validation carve-out ({@code wbc calibrate}); the
     * logits are divided by it before the softmax everywhere the model's probabilities are read.
     * Null (models never calibrated) means 1.
     */
    public ModelMetadata withTemperature(Double t) {
        return new ModelMetadata(format, architecture, classes, inputShape, normalization, training, provenance,
                metrics, intendedUse, t, onnx);
    }

    /**
     * The ONNX graph of a bundle ({@code model.onnx}, from {@code wbc export}); null where there is
     * none. Its output is the logits: the temperature is applied outside the graph, as for the weights.
     */
    public ModelMetadata withOnnx(OnnxInfo info) {
        return new ModelMetadata(format, architecture, classes, inputShape, normalization, training, provenance,
                metrics, intendedUse, temperature, info);
    }

    public double softmaxTemperature() {
        return temperature == null ? 1.0 : temperature;
    }
}
