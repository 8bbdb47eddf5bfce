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
        Integer bestEpoch) {

    public Provenance withPretraining(String bundle, BackboneBundle.Metadata record) {
        return new Provenance(seed, manifestSha256, manifestSeed, manifestGroupBy, subset, trainImages, validationImages,
                trainImagesPerClass, pseudoLabels, classWeights, skippedImages, skippedTestImages, skippedAtSplit,
                skippedCount, modelSelection, versions, device, memoryFormat, bundle, record, bestEpoch);
    }

    public Provenance withBestEpoch(int epoch) {
        return new Provenance(seed, manifestSha256, manifestSeed, manifestGroupBy, subset, trainImages, validationImages,
                trainImagesPerClass, pseudoLabels, classWeights, skippedImages, skippedTestImages, skippedAtSplit,
                skippedCount, modelSelection, versions, device, memoryFormat, pretrainedBackbone, pretraining, epoch);
    }
}
