package org.wbctransfer.experiment;

/** A picture of an experiment report: written under its folder, embedded in the HTML page, linked from results.md. */
record Figure(String relPath, String caption, byte[] png) {}
