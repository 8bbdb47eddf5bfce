package org.wbctransfer.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.util.UserException;

/**
 * The device every network of this process computes on. By default the engine's default device:
 * the first GPU when DJL's PyTorch engine was built with CUDA (the {@code -Pcuda} build) and a GPU
 * is visible, else the CPU. {@code -Dwbc.device=cpu|gpu|auto} or the environment variable {@code
 * WBC_DEVICE} (the property wins) overrides it; {@code gpu} fails with a clear error where no GPU
 * is usable instead of quietly running on the CPU.
 *
 * <p>Models are created on this device ({@code Model.newInstance(name, Devices.compute())}), and
 * input arrays are created from the model's manager or its sub-managers, so they follow it.
 */
public final class Devices {

    public static final String PROPERTY = "wbc.device";
    public static final String ENV = "WBC_DEVICE";

    private static final Logger LOG = LoggerFactory.getLogger(Devices.class);
    private static volatile Device chosen;

    /** What the user asked for. */
    enum Choice { AUTO, CPU, GPU }

    private Devices() {}

    /** The compute device, resolved (and logged) on first use. */
    public static Device compute() {
        Device d = chosen;
        if (d == null) {
            synchronized (Devices.class) {
                d = chosen;
                if (d == null) {
                    Engine engine = Engine.getInstance();
                    d = choose(System.getProperty(PROPERTY), System.getenv(ENV), engine.defaultDevice(),
                            engine.getGpuCount());
                    LOG.info("device: {}", describe(d));
                    chosen = d;
                }
            }
        }
        return d;
    }

    /**
     * The device for a property and an environment value (either may be null or blank; the
     * property wins), given the engine's default device and its GPU count.
     */
    static Device choose(String property, String env, Device engineDefault, int gpuCount) {
        boolean fromProperty = property != null && !property.isBlank();
        String source = fromProperty ? "-D" + PROPERTY + "=" + property : ENV + "=" + env;
        Choice c = parse(fromProperty ? property : env, source);
        switch (c) {
            case CPU:
                return Device.cpu();
            case GPU:
                if (gpuCount <= 0) {
                    throw new UserException(source + ": no GPU is usable by DJL's PyTorch engine (it runs on "
                            + describe(engineDefault) + "); build with 'mvn -B -Pcuda package -DskipTests' on a"
                            + " machine with an NVIDIA GPU and CUDA 12.8 (see README, GPU), or use cpu");
                }
                return engineDefault.isGpu() ? engineDefault : Device.gpu();
            default:
                return engineDefault;
        }
    }

    /** cpu, gpu or auto (any case); null or blank is auto. */
    static Choice parse(String value, String source) {
        if (value == null || value.isBlank()) {
            return Choice.AUTO;
        }
        switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "cpu":
                return Choice.CPU;
            case "gpu":
                return Choice.GPU;
            case "auto":
                return Choice.AUTO;
            default:
                throw new UserException(source + ": unknown device; expected cpu, gpu or auto");
        }
    }

    /** "cpu" or "gpu(N)". */
    public static String describe(Device d) {
        return d.isGpu() ? "gpu(" + d.getDeviceId() + ")" : "cpu";
    }
}
