package org.wbctransfer.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The {@code onnx} entry of a bundle's {@code metadata.json}: how to feed {@code model.onnx} and
 * read its output, for users outside this tool (written by {@link OnnxExport}).
 *
 * @param file the graph's file name in the bundle
 * @param opset the ONNX operator set version (default domain)
 * @param irVersion the ONNX IR version of the file
 * @param input the graph input's name
 * @param inputShape N, C, H, W; N is the symbolic {@code "batch"} (any batch size)
 * @param inputLayout always {@code NCHW}
 * @param inputType always {@code float32}
 * @param inputChannels channel order, always {@code RGB}
 * @param inputNormalization what the input holds: pixels scaled to [0, 1], minus the metadata's
 *     {@code normalization.mean}, divided by its {@code normalization.std}, per channel
 * @param output the graph output's name
 * @param outputShape N, classes
 * @param softmax whether the output is already a softmax (false: logits)
 * @param temperature how the metadata's {@code temperature} applies (the graph does not apply it)
 * @param batchNormFolded whether BatchNorm is folded into the convolutions' weights and biases
 * @param weightsSha256 SHA-256 of the {@code weights.params} the graph was made from
 * @param sha256 SHA-256 of the graph file
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record OnnxInfo(
        String file,
        int opset,
        int irVersion,
        String input,
        List<Object> inputShape,
        String inputLayout,
        String inputType,
        String inputChannels,
        String inputNormalization,
        String output,
        List<Object> outputShape,
        boolean softmax,
        String temperature,
        boolean batchNormFolded,
        String weightsSha256,
        String sha256) {

    public OnnxInfo withSha256(String digest) {
        return new OnnxInfo(file, opset, irVersion, input, inputShape, inputLayout, inputType, inputChannels,
                inputNormalization, output, outputShape, softmax, temperature, batchNormFolded, weightsSha256, digest);
    }
}
