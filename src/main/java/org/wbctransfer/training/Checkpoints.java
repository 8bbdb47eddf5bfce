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
 * (DJL's parameter ids are random per process) and the weights' moving average when the run keeps
 * one (version 2; version 1 files, which have no such section, still load). Written atomically: a
 * crash leaves the previous checkpoint intact.
 */
public final class Checkpoints {

    private static final int MAGIC = 0x57424b50; // "WBKP"
    private static final int VERSION = 2;

    /** What a checkpoint says about the run's progress. */
    public record Progress(int epochsDone, int bestEpoch, double bestScore) {}

    private Checkpoints() {}

    /** With a null optimizer or average, the checkpoint holds none. */
    public static void save(Path file, Block block, AdamW optimizer, WeightEma ema, Progress progress)
            throws IOException {
        AtomicFiles.write(file, tmp -> {
            try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20))) {
                out.writeInt(MAGIC);
                out.writeInt(VERSION);
                out.writeInt(progress.epochsDone());
                out.writeInt(progress.bestEpoch());
                out.writeDouble(progress.bestScore());
                block.saveParameters(out);
                writeOptimizer(out, block, optimizer);
                out.writeInt(ema == null ? -1 : ema.updates());
                if (ema != null) {
                    out.writeInt(ema.averages().size());
                    for (Map.Entry<String, NDArray> e : ema.averages().entrySet()) {
                        out.writeUTF(e.getKey());
                        writeArray(out, e.getValue());
                    }
                }
            }
        });
    }

    private static void writeOptimizer(DataOutputStream out, Block block, AdamW optimizer) throws IOException {
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

    /**
     * Loads parameters into an initialized block of the same architecture and, when given an
     * optimizer and the file holds its state, restores that too.
     */
    public static Progress load(Path file, Block block, AdamW optimizer, NDManager manager) throws IOException {
        return load(file, block, optimizer, null, manager);
    }

    /** {@link #load(Path, Block, AdamW, NDManager)}, and the weights' average into {@code ema} when given. */
    public static Progress load(Path file, Block block, AdamW optimizer, WeightEma ema, NDManager manager)
            throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 20))) {
            int version = in.readInt() == MAGIC ? in.readInt() : -1;
            if (version != 1 && version != VERSION) {
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
            Map<String, String> idByName = new HashMap<>();
            for (Pair<String, Parameter> p : block.getParameters()) {
                idByName.put(p.getKey(), p.getValue().getId());
            }
            // Read through even when not restored: the weights' average follows.
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
                    if (optimizer != null) {
                        optimizer.restore(id, step, m, v, manager);
                    }
                }
            }
            if (ema != null) {
                readAverage(file, in, version, ema, manager);
            }
            return progress;
        }
    }

    /** The weights' average, which follows the optimizer section. */
    private static void readAverage(Path file, DataInputStream in, int version, WeightEma ema, NDManager manager)
            throws IOException {
        int updates = version == 1 ? -1 : in.readInt();
        if (updates < 0) {
            throw new IOException(file + ": holds no moving average of the weights, which this run keeps");
        }
        int count = in.readInt();
        try (NDManager tmp = manager.newSubManager()) {
            Map<String, NDArray> saved = new java.util.LinkedHashMap<>();
            for (int i = 0; i < count; i++) {
                saved.put(in.readUTF(), readArray(in, tmp));
            }
            ema.restore(updates, saved);
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
