package org.wbctransfer.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.Normalization;

/**
 * {@code metadata.json} of a model directory: what a user of the weights must know to feed them
 * correctly (classes in output order, input size, normalization, the {@link Preprocessing}
 * block) and where they came from.
 *
 * @param schemaVersion the layout of this file: {@value #SCHEMA_VERSION} adds schemaVersion,
 *     version, preprocessing as an object and weightsSha256; absent (null) in older bundles
 * @param version the wbc-transfer build that wrote the weights (what {@code wbc -V} prints)
 * @param weightsSha256 SHA-256 of weights.params, checked when the model is loaded; absent in
 *     older bundles, which load unchecked
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelMetadata(
        String format,
        Integer schemaVersion,
        String version,
        String architecture,
        List<String> classes,
        List<Integer> inputShape,
        Normalization normalization,
        Preprocessing preprocessing,
        TrainConfig training,
        Provenance provenance,
        Map<String, Object> metrics,
        String intendedUse,
        Double temperature,
        String weightsSha256) {

    public static final String FORMAT = "wbc-transfer-model/1";
    public static final int SCHEMA_VERSION = 2;
    public static final String INTENDED_USE =
            "Research on white-blood-cell image classification and transfer learning. Not a medical device;"
                    + " not for diagnosis or treatment decisions.";

    /** Metadata of the current schema for a model trained by this build. */
    public ModelMetadata(String format, String architecture, List<String> classes, List<Integer> inputShape,
            Normalization normalization, TrainConfig training, Provenance provenance, Map<String, Object> metrics,
            String intendedUse, Double temperature) {
        this(format, SCHEMA_VERSION, org.wbctransfer.util.Versions.wbc(), architecture, classes, inputShape,
                normalization, inputShape == null || normalization == null ? null
                        : Preprocessing.of(inputShape.get(inputShape.size() - 1), normalization),
                training, provenance, metrics, intendedUse, temperature, null);
    }

    /** The input side: the preprocessing block's when it has one, else (old bundles) the last of inputShape. */
    public int imageSize() {
        if (preprocessing != null && preprocessing.complete()) {
            return preprocessing.size();
        }
        return inputShape.get(inputShape.size() - 1);
    }

    /** Mean and std the input is normalized with: the preprocessing block's, else (old bundles) normalization. */
    public Normalization inputNormalization() {
        if (preprocessing != null && preprocessing.complete()) {
            return preprocessing.normalization();
        }
        return normalization;
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
        return new ModelMetadata(format, schemaVersion, version, architecture, classes, inputShape, normalization,
                preprocessing, training, provenance, newMetrics, intendedUse, temperature, weightsSha256);
    }

    /**
     * The softmax temperature fitted on the validation carve-out ({@code wbc calibrate}); the
     * logits are divided by it before the softmax everywhere the model's probabilities are read.
     * Null (models never calibrated) means 1.
     */
    public ModelMetadata withTemperature(Double t) {
        return new ModelMetadata(format, schemaVersion, version, architecture, classes, inputShape, normalization,
                preprocessing, training, provenance, metrics, intendedUse, t, weightsSha256);
    }

    /** The checksum of the weights file saved with this metadata. */
    public ModelMetadata withWeightsSha256(String sha) {
        return new ModelMetadata(format, schemaVersion, version, architecture, classes, inputShape, normalization,
                preprocessing, training, provenance, metrics, intendedUse, temperature, sha);
    }

    public double softmaxTemperature() {
        return temperature == null ? 1.0 : temperature;
    }
}
