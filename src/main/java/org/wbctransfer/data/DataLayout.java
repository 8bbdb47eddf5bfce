package org.wbctransfer.data;

/** Where the study's data sets come from and how they must be laid out on disk. */
public final class DataLayout {
    private DataLayout() {}

    public static final String HELP =
            "Expected a class-per-folder image dataset: <root>/<Class>/<image>.jpg, e.g."
                    + " ../shared/datasets/raabin-wbc/train/{Basophil,Eosinophil,Lymphocyte,Monocyte,Neutrophil}/."
                    + " Raabin-WBC: https://raabindata.com/free-data/ (Kouzehkanan et al., Sci Rep 2022);"
                    + " PatchCamelyon: https://github.com/basveeling/pcam;"
                    + " WBC masks: https://github.com/zxaoyou/segmentation_WBC (Zheng et al., Micron 2018).";
}
