package org.wbctransfer.training;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.wbctransfer.util.AtomicFiles;

/**
 * Checkpoint files: the network's parameters (BatchNorm running statistics included) and,
 * for resumable checkpoints, the optimizer's moments and step counts keyed by parameter name
 * (DJL's parameter ids are random per process). Written atomically: a crash leaves the previous
 * checkpoint intact.
 */
public final class Checkpoints {

    private static final int MAGIC = 0x57424b50; // "WBKP"
    private static final int VERSION = 1;

    /** What a checkpoint says about the run's progress. */
    public record Progress(int epochsDone, int bestEpoch, double bestScore) {}

    private Checkpoints() {}

    public static void save(Path file, Block block, AdamW optimizer, Progress progress) throws IOException {
        AtomicFiles.write(file, tmp -> {
            try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20))) {
                out.writeInt(MAGIC);
                out.writeInt(VERSION);
                out.writeInt(progress.epochsDone());
                out.writeInt(progress.bestEpoch());
                out.writeDouble(progress.bestScore());
                block.saveParameters(out);
                if (optimizer == null) {
                    out.writeInt(-1);
                    return;
                }
                Map<String, AdamW.State> states = optimizer.states();
                int count = 0;
                for (Pair<String, Parameter> p : block.getParameters()) {
                    if (states.containsKey(p.getValue().getId())) {
                        count++;
                    }
                }
                out.writeInt(count);
                for (Pair<String, Parameter> p : block.getParameters()) {
                    AdamW.State s = states.get(p.getValue().getId());
                    if (s == null) {
                        continue;
                    }
                    out.writeUTF(p.getKey());
                    out.writeInt(s.step);
                    writeArray(out, s.mean);
                    writeArray(out, s.variance);
                }
            }
        });
    }

    /**
     * Loads parameters into an initialized block of the same architecture and, when given an
     * optimizer and the file holds its state, restores that too.
     */
    public static Progress load(Path file, Block block, AdamW optimizer, NDManager manager) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 20))) {
            if (in.readInt() != MAGIC || in.readInt() != VERSION) {
                throw new IOException(file + ": not a wbc-transfer checkpoint");
            }
            Progress progress = new Progress(in.readInt(), in.readInt(), in.readDouble());
            try {
                block.loadParameters(manager, in);
            } catch (MalformedModelException e) {
                throw new IOException(file + ": parameters do not fit this network (" + e.getMessage() + ")", e);
            }
            requireGradients(block);
            int count = in.readInt();
            if (optimizer != null && count > 0) {
                Map<String, String> idByName = new HashMap<>();
                for (Pair<String, Parameter> p : block.getParameters()) {
                    idByName.put(p.getKey(), p.getValue().getId());
                }
                for (int i = 0; i < count; i++) {
                    String name = in.readUTF();
                    int step = in.readInt();
                    try (NDManager tmp = manager.newSubManager()) {
                        NDArray m = readArray(in, tmp);
                        NDArray v = readArray(in, tmp);
                        String id = idByName.get(name);
                        if (id == null) {
                            throw new IOException(file + ": optimizer state for unknown parameter " + name);
                        }
                        optimizer.restore(id, step, m, v, manager);
                    }
                }
            }
            return progress;
        }
    }

    /** Re-attaches autograd, which loaded arrays lack, to the trainable parameters (not BatchNorm statistics). */
    public static void requireGradients(Block block) {
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getValue().requiresGradient()) {
                p.getValue().getArray().setRequiresGradient(true);
            }
        }
    }

    private static void writeArray(DataOutputStream out, NDArray a) throws IOException {
        byte[] b = a.encode();
        out.writeInt(b.length);
        out.write(b);
    }

    private static NDArray readArray(DataInputStream in, NDManager manager) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return NDArray.decode(manager, b);
    }
}
