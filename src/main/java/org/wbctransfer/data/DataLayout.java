package org.wbctransfer.data;

import org.wbctransfer.config.Defaults;
/** Where the study's data sets come from and how they must be laid out on disk. */
public final class DataLayout {
    private DataLayout() {}

    /**
     * The classification data when none is named: Raabin-WBC's train split beside the project.
     * Here, below every layer that needs it (the CLI's default, experiments, the pre-training
     * stages that must keep its test images out).
     */
    
    public static final String HELP =
            "Expected a class-per-folder image dataset: <root>/<Class>/<image>.jpg, e.g."
                    + " " + Defaults.DATA + "/{Basophil,Eosinophil,Lymphocyte,Monocyte,Neutrophil}/."
                    + " Raabin-WBC: https://raabindata.com/free-data/ (Kouzehkanan et al., Sci Rep 2022);"
                    + " PatchCamelyon: https://github.com/basveeling/pcam;"
                    + " WBC masks: https://github.com/zxaoyou/segmentation_WBC (Zheng et al., Micron 2018).";
}
