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
 * @param ood the out-of-distribution score ({@code wbc calibrate}); null when none was fitted
 * @param onnx the ONNX graph of a bundle ({@code model.onnx}, from {@code wbc export}); null where
 *     there is none
 * @param validationConfusion confusion counts of the validation carve-out, [true][predicted]
 *     ({@code wbc calibrate}), which the differential count corrects with; null when none
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
        String weightsSha256,
        Ood ood,
        List<List<Long>> validationConfusion,
        OnnxInfo onnx) {

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
                training, provenance, metrics, intendedUse, temperature, null, null, null, null);
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
                preprocessing, training, provenance, newMetrics, intendedUse, temperature, weightsSha256, ood, validationConfusion, onnx);
    }

    /**
     * The softmax temperature fitted on the validation carve-out ({@code wbc calibrate}); the
     * logits are divided by it before the softmax everywhere the model's probabilities are read.
     * Null (models never calibrated) means 1.
     */
    public ModelMetadata withTemperature(Double t) {
        return new ModelMetadata(format, schemaVersion, version, architecture, classes, inputShape, normalization,
                preprocessing, training, provenance, metrics, intendedUse, t, weightsSha256, ood, validationConfusion, onnx);
    }

    /** With another preprocessing block (a cell-centred crop's). */
    public ModelMetadata withPreprocessing(Preprocessing p) {
        return new ModelMetadata(format, schemaVersion, version, architecture, classes, inputShape, normalization,
                p, training, provenance, metrics, intendedUse, temperature, weightsSha256, ood, validationConfusion, onnx);
    }

    /** The cell-centred crop the input is framed with, or null (the centre square). */
    public Preprocessing.CellCropSpec cellCrop() {
        return preprocessing == null ? null : preprocessing.cellCrop();
    }

    /** The colour standardisation the input gets after the resize, or null (none). */
    public Preprocessing.ColourStandardSpec colourStandard() {
        return preprocessing == null ? null : preprocessing.colourStandard();
    }

    /** The checksum of the weights file saved with this metadata. */
    public ModelMetadata withWeightsSha256(String sha) {
        return new ModelMetadata(format, schemaVersion, version, architecture, classes, inputShape, normalization,
                preprocessing, training, provenance, metrics, intendedUse, temperature, sha, ood, validationConfusion, onnx);
    }

    /** With the ONNX graph's entry ({@code wbc export}); null removes it (a saved run model has no graph). */
    public ModelMetadata withOnnx(OnnxInfo info) {
        return new ModelMetadata(format, schemaVersion, version, architecture, classes, inputShape, normalization,
                preprocessing, training, provenance, metrics, intendedUse, temperature, weightsSha256, ood,
                validationConfusion, info);
    }

    /** With the out-of-distribution score {@code wbc calibrate} chose and fitted; null removes it. */
    public ModelMetadata withOod(Ood o) {
        return new ModelMetadata(format, schemaVersion, version, architecture, classes, inputShape, normalization,
                preprocessing, training, provenance, metrics, intendedUse, temperature, weightsSha256, o, validationConfusion, onnx);
    }

    /**
     * The out-of-distribution score the model reports ({@link OodDetector}): an image whose score is
     * above {@code threshold} (the {@code percentile}-th percentile of the scores of held-out images
     * from the training distribution) is flagged; a folder with more than {@code warnFraction} of
     * its images flagged gets a warning. {@code file} holds what the score needs besides the
     * network (class means and precision for Mahalanobis).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Ood(String score, double threshold, double percentile, double warnFraction, String fittedOn,
            int fitImages, int thresholdImages, String file) {

        public OodDetector.Score kind() {
            return OodDetector.Score.of(score);
        }

        /** Whether an image with this score is flagged (a score that is not a number is). */
        public boolean flags(double value) {
            return !(value <= threshold);
        }

        /** Whether a batch of n images with this many flagged gets the warning. */
        public boolean warns(long flagged, long n) {
            return n > 0 && (double) flagged / n > warnFraction;
        }
    }

    /** With the validation confusion counts, [true][predicted]; null removes them. */
    public ModelMetadata withValidationConfusion(long[][] counts) {
        List<List<Long>> rows = counts == null ? null : new java.util.ArrayList<>();
        for (long[] r : counts == null ? new long[0][] : counts) {
            rows.add(java.util.Arrays.stream(r).boxed().toList());
        }
        return new ModelMetadata(format, schemaVersion, version, architecture, classes, inputShape, normalization,
                preprocessing, training, provenance, metrics, intendedUse, temperature, weightsSha256, ood, rows, onnx);
    }

    /** {@link #validationConfusion} as an array; null when the model has none. */
    public long[][] validationConfusionCounts() {
        if (validationConfusion == null) {
            return null;
        }
        long[][] out = new long[validationConfusion.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = validationConfusion.get(i).stream().mapToLong(Long::longValue).toArray();
        }
        return out;
    }

    /**
     * The network's normalisation, from the training config it records; metadata without one
     * (written before GroupNorm existed, or by hand) describes the BatchNorm network.
     */
    public TrainConfig.Norm norm() {
        return training != null ? training.norm() : TrainConfig.Norm.parse(org.wbctransfer.config.Defaults.NORM);
    }

    public double softmaxTemperature() {
        return temperature == null ? 1.0 : temperature;
    }
}
