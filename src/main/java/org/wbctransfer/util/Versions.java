package org.wbctransfer.util;

import ai.djl.engine.Engine;
import java.util.LinkedHashMap;
import java.util.Map;

/** Library versions recorded with every run and model, so results can be traced to a build. */
public final class Versions {
    private Versions() {}

    public static Map<String, String> all() {
        Map<String, String> m = new LinkedHashMap<>();
        Package p = Versions.class.getPackage();
        m.put("wbc-transfer", p != null && p.getImplementationVersion() != null ? p.getImplementationVersion() : "dev");
        m.put("djl", Engine.getDjlVersion());
        Engine e = Engine.getInstance();
        m.put("engine", e.getEngineName() + " " + e.getVersion());
        m.put("java", System.getProperty("java.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        m.put("cpus", String.valueOf(Runtime.getRuntime().availableProcessors()));
        return m;
    }
}
