package org.wbctransfer.training;

/**
 * One finished epoch, as written to {@code summary.csv}. Validation fields are NaN when the run
 * has no validation carve-out.
 */
public record EpochResult(int epoch, double learningRate, double trainLoss, double trainAccuracy,
        double valLoss, double valAccuracy, double valMacroF1, double imagesPerSecond, double seconds,
        boolean best) {

    public static final String CSV_HEADER =
            "epoch,lr,train_loss,train_acc,val_loss,val_acc,val_macro_f1,images_per_s,seconds,best";

    public String toCsv() {
        return String.format(java.util.Locale.ROOT, "%d,%.6g,%.5f,%.5f,%s,%s,%s,%.1f,%.1f,%d", epoch, learningRate,
                trainLoss, trainAccuracy, fmt(valLoss), fmt(valAccuracy), fmt(valMacroF1), imagesPerSecond,
                seconds, best ? 1 : 0);
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "" : String.format(java.util.Locale.ROOT, "%.5f", v);
    }
}
