# Mean and sample std of held-out accuracy and macro F1 per (sub-folder, arm) over the results.csv files
# that scripts/adapt-outside.sh wrote under <dir>/<name>/ (e.g. the shots-K folders of a curve); a markdown table.
# Usage: python3 scripts/adapt-curve.py <dir>
import csv, glob, os, statistics as st, sys
base = sys.argv[1]
rows = {}
for f in sorted(glob.glob(os.path.join(base, "*", "results.csv"))):
    name = os.path.basename(os.path.dirname(f))
    for r in csv.DictReader(open(f)):
        rows.setdefault((name, r["arm"]), []).append(r)
def key(k):
    n, a = k
    return (a, n.startswith("tune4"), int(n.split("-")[-1]))
print("| set | arm | held out per draw | runs | accuracy % mean ± sd | macro F1 mean ± sd |")
print("|---|---|---:|---:|---:|---:|")
for k in sorted(rows, key=key):
    rs = rows[k]
    acc = [100 * float(r["accuracy"]) for r in rs]; f1 = [float(r["macro_f1"]) for r in rs]
    sd = lambda v: st.stdev(v) if len(v) > 1 else 0.0
    print(f"| {k[0]} | {k[1]} | {rs[0]['held_out_images']} | {len(rs)} | {st.mean(acc):.2f} ± {sd(acc):.2f} | {st.mean(f1):.3f} ± {sd(f1):.3f} |")
