package org.wbctransfer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import org.junit.jupiter.api.Test;
import org.wbctransfer.util.UserException;

/** The device choice needs no GPU: the engine's answer is passed in. */
class DevicesTest {

    private static final Device GPU0 = Device.gpu(0);

    @Test
    void unsetOrAutoIsTheEngineDefault() {
        assertThat(Devices.choose(null, null, Device.cpu(), 0)).isEqualTo(Device.cpu());
        assertThat(Devices.choose("", "  ", Device.cpu(), 0)).isEqualTo(Device.cpu());
        assertThat(Devices.choose(null, null, GPU0, 1)).isEqualTo(GPU0);
        assertThat(Devices.choose("auto", null, GPU0, 1)).isEqualTo(GPU0);
        assertThat(Devices.choose(null, "AUTO", Device.cpu(), 0)).isEqualTo(Device.cpu());
    }

    @Test
    void cpuForcesTheCpuEvenWithAGpu() {
        assertThat(Devices.choose("cpu", null, GPU0, 1)).isEqualTo(Device.cpu());
        assertThat(Devices.choose(null, " CPU ", GPU0, 2)).isEqualTo(Device.cpu());
    }

    @Test
    void gpuUsesTheFirstGpu() {
        assertThat(Devices.choose("gpu", null, GPU0, 1)).isEqualTo(GPU0);
        assertThat(Devices.choose(null, "Gpu", GPU0, 4)).isEqualTo(GPU0);
    }

    @Test
    void gpuWithoutAGpuIsAUserError() {
        assertThatThrownBy(() -> Devices.choose(null, "gpu", Device.cpu(), 0))
                .isInstanceOf(UserException.class)
                .hasMessageStartingWith("WBC_DEVICE=gpu: no GPU is usable")
                .hasMessageContaining("-Pcuda")
                .hasMessageNotContaining("\n");
        assertThatThrownBy(() -> Devices.choose("gpu", null, Device.cpu(), 0))
                .isInstanceOf(UserException.class)
                .hasMessageStartingWith("-Dwbc.device=gpu: ");
    }

    @Test
    void propertyWinsOverEnvironment() {
        assertThat(Devices.choose("cpu", "gpu", GPU0, 1)).isEqualTo(Device.cpu());
        assertThat(Devices.choose("gpu", "cpu", GPU0, 1)).isEqualTo(GPU0);
        // A bad environment value does not matter when the property decides.
        assertThat(Devices.choose("cpu", "tpu", Device.cpu(), 0)).isEqualTo(Device.cpu());
    }

    @Test
    void badValueIsAOneLineUserError() {
        assertThatThrownBy(() -> Devices.choose(null, "tpu", Device.cpu(), 0))
                .isInstanceOf(UserException.class)
                .hasMessage("WBC_DEVICE=tpu: unknown device; expected cpu, gpu or auto");
        assertThatThrownBy(() -> Devices.choose("gpu0", null, GPU0, 1))
                .isInstanceOf(UserException.class)
                .hasMessage("-Dwbc.device=gpu0: unknown device; expected cpu, gpu or auto");
    }

    @Test
    void describesDevicesShortly() {
        assertThat(Devices.describe(Device.cpu())).isEqualTo("cpu");
        assertThat(Devices.describe(GPU0)).isEqualTo("gpu(0)");
        assertThat(Devices.describe(Device.gpu(1))).isEqualTo("gpu(1)");
    }

    @Test
    void computeIsTheEngineDefaultWithoutOverrideAndModelsLiveThere() {
        assumeTrue(System.getProperty(Devices.PROPERTY) == null && System.getenv(Devices.ENV) == null);
        Device d = Devices.compute();
        assertThat(d).isEqualTo(Engine.getInstance().defaultDevice());
        assertThat(Devices.compute()).isSameAs(d);
        try (Model model = Model.newInstance("t", d)) {
            assertThat(model.getNDManager().getDevice()).isEqualTo(d);
            assertThat(model.getNDManager().newSubManager().create(new float[] {1, 2}).getDevice()).isEqualTo(d);
        }
    }
}
