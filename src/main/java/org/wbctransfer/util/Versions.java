package org.wbctransfer.util;

import ai.djl.engine.Engine;
import java.util.LinkedHashMap;
import java.util.Map;

/** Library versions recorded with every run and model, so results can be traced to a build. */
public final class Versions {
    private Versions() {}

    private static final String WBC = readVersion();

    /**
     * This build's version (the pom's, filtered into wbc-version.properties): what {@code wbc -V}
     * prints and what models and runs record. "dev" only when the resource is missing or was not
     * filtered (classes compiled outside Maven).
     */
    public static String wbc() {
        return WBC;
    }

    private static String readVersion() {
        try (java.io.InputStream in = Versions.class.getResourceAsStream("/wbc-version.properties")) {
            if (in != null) {
                java.util.Properties p = new java.util.Properties();
                p.load(in);
                String v = p.getProperty("version", "");
                if (!v.isBlank() && !v.contains("${")) {
                    return v.strip();
                }
            }
        } catch (java.io.IOException e) {
            // fall through: an unreadable resource is as good as none
        }
        return "dev";
    }

    public static Map<String, String> all() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("wbc-transfer", wbc());
        m.put("djl", Engine.getDjlVersion());
        Engine e = Engine.getInstance();
        m.put("engine", e.getEngineName() + " " + e.getVersion());
        m.put("java", System.getProperty("java.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        m.put("cpus", String.valueOf(Runtime.getRuntime().availableProcessors()));
        return m;
    }
}
