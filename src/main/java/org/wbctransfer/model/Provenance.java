package org.wbctransfer.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/**
 * Where a trained model came from: {@code provenance.json} of its run and the {@code provenance}
 * of its {@code metadata.json}. Enough to check its figures against the dataset: the split
 * (manifest hash and seed), the images it trained on per class, what it skipped, and the library
 * versions. Optional parts are left out of the JSON when they do not apply.
 *
 * @param manifestGroupBy the file-name pattern of a grouped split
 * @param pseudoLabels what self-training took from its teacher
 * @param pretrainedBackbone the backbone bundle a fine-tuned model started from, with its record
 * @param bestEpoch the epoch kept (1-based); in the model's metadata only, once training ended
 * @param testSplit null when the run may read its split's test images (the usual run); otherwise
 *     why it never opened them (a search: {@code wbc experiment} with {@code search: true})
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Provenance(
        long seed,
        String manifestSha256,
        long manifestSeed,
        String manifestGroupBy,
        String subset,
        int trainImages,
        int validationImages,
        int[] trainImagesPerClass,
        Map<String, Object> pseudoLabels,
        float[] classWeights,
        List<String> skippedImages,
        List<String> skippedTestImages,
        List<String> skippedAtSplit,
        int skippedCount,
        String modelSelection,
        Map<String, String> versions,
        String device,
        String memoryFormat,
        String pretrainedBackbone,
        BackboneBundle.Metadata pretraining,
        Integer bestEpoch,
        String testSplit) {

    public Provenance withPretraining(String bundle, BackboneBundle.Metadata record) {
        return new Provenance(seed, manifestSha256, manifestSeed, manifestGroupBy, subset, trainImages, validationImages,
                trainImagesPerClass, pseudoLabels, classWeights, skippedImages, skippedTestImages, skippedAtSplit,
                skippedCount, modelSelection, versions, device, memoryFormat, bundle, record, bestEpoch, testSplit);
    }

    /**
     * This record as a model's metadata.json carries it: the backbone bundle relative to base and
     * the skipped files relative to the data root, so no absolute path of the training machine
     * travels with the model (provenance.json in the run directory keeps them).
     */
    public Provenance relativeTo(java.nio.file.Path base, String dataRoot) {
        return new Provenance(seed, manifestSha256, manifestSeed, manifestGroupBy, subset, trainImages, validationImages,
                trainImagesPerClass, relativeTeacher(base), classWeights, underRoot(skippedImages, dataRoot),
                underRoot(skippedTestImages, dataRoot), skippedAtSplit, skippedCount, modelSelection, versions, device,
                memoryFormat, org.wbctransfer.config.TrainConfig.relative(base, pretrainedBackbone), pretraining, bestEpoch, testSplit);
    }

    private Map<String, Object> relativeTeacher(java.nio.file.Path base) {
        if (pseudoLabels == null || !(pseudoLabels.get("teacher") instanceof String t)) {
            return pseudoLabels;
        }
        Map<String, Object> m = new java.util.LinkedHashMap<>(pseudoLabels);
        m.put("teacher", org.wbctransfer.config.TrainConfig.relative(base, t));
        return m;
    }

    /** "file: problem" lines with the data root's prefix cut off the files under it. */
    private static List<String> underRoot(List<String> lines, String dataRoot) {
        if (lines == null || dataRoot == null) {
            return lines;
        }
        String prefix = java.nio.file.Path.of(dataRoot).toAbsolutePath().normalize() + java.io.File.separator;
        return lines.stream().map(l -> l.startsWith(prefix) ? l.substring(prefix.length()) : l).toList();
    }

    public Provenance withBestEpoch(int epoch) {
        return new Provenance(seed, manifestSha256, manifestSeed, manifestGroupBy, subset, trainImages, validationImages,
                trainImagesPerClass, pseudoLabels, classWeights, skippedImages, skippedTestImages, skippedAtSplit,
                skippedCount, modelSelection, versions, device, memoryFormat, pretrainedBackbone, pretraining, epoch, testSplit);
    }
}
