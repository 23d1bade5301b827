#!/usr/bin/python3
"""Data shapes the shared sets lack, made from them or generated, for budget checks.

Writes one folder per shape (train.csv, test.csv, card.json, the layout of
../shared/datasets) under OUT (default runs/shapes):

  images28      15,000 + 5,000 grey 28x28 digits in 10 classes: opencv_digits' 20x20
                images placed at four random offsets on a 28x28 canvas (training images
                from its train split, test images from its test split), pixel_R_C columns.
  ratings       75,000 + 25,000 rows: integer user and item ids (3,000 and 1,500 levels)
                whose effects carry most of the signal, plus two numeric columns; rmse.
  ames_small    125 training rows of ames (regression with categorical columns), the test
                split unchanged.
  spam_wide     spam with 300 extra noise columns (a wide binary table).
  tall          300,000 + 50,000 rows of a generated binary task: 12 numeric columns (two
                interactions, a threshold and noise), 3 categorical columns (8 to 200 levels),
                5% of cells missing; roc_auc. A table larger than any shared one.
  rare          adult with the positive class thinned to 2% of each split (about 500 of
                24,000 training rows): a heavily imbalanced binary table; roc_auc.
  holes         telco_churn with 40% of its feature cells emptied at random in both
                splits: a table that is mostly missing values.
  untyped:SET   the shared set SET with no feature_types in its card (the columns' kinds
                read from the file alone), in folder SET_untyped.
  small:SET:N   N training rows of the shared set SET (e.g. small:sacramento:125), the test
                split unchanged (up to 3,000 rows of it), in folder SET_N: the small tables
                the shared sets lack (small regression sets are where the project was weakest).

Only the standard library is used, so it runs on a machine without NumPy.

  /usr/bin/python3 bench/make_shapes.py --shared ../shared/datasets --out runs/shapes
"""
import argparse
import csv
import json
import os
import random


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write(folder, name, header, rows):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def card(folder, **fields):
    with open(os.path.join(folder, "card.json"), "w", encoding="utf-8") as f:
        json.dump(fields, f, indent=2)


def images28(shared, out, rng):
    folder = os.path.join(out, "images28")
    src = os.path.join(shared, "opencv_digits")
    header = [f"pixel_{r}_{c}" for r in range(28) for c in range(28)] + ["label"]
    for split in ("train", "test"):
        h, rows = read(os.path.join(src, f"{split}.csv"))
        label = h.index("label")
        made = []
        for row in rows:
            pixels = [row[i] for i in range(len(row)) if i != label]
            for _ in range(4):
                dy, dx = rng.randint(0, 8), rng.randint(0, 8)
                canvas = ["0"] * (28 * 28)
                for r in range(20):
                    for c in range(20):
                        canvas[(r + dy) * 28 + c + dx] = pixels[r * 20 + c]
                made.append(canvas + [row[label]])
        rng.shuffle(made)
        write(folder, f"{split}.csv", header, made)
    card(folder, name="images28", task="multiclass", modality="image", target="label", metric="accuracy",
         description="Handwritten digits, 28x28 grey, each 20x20 digit at a random offset")


def ratings(out, rng):
    folder = os.path.join(out, "ratings")
    users = [rng.gauss(0, 0.6) for _ in range(3000)]
    items = [rng.gauss(0, 0.5) for _ in range(1500)]
    header = ["userId", "itemId", "age", "hour", "rating"]
    rows = []
    for _ in range(100000):
        # Mildly skewed activity: some users and items are rated far more than others,
        # but every id is seen, and its effect has nothing to do with its number.
        u = int(3000 * rng.random() ** 1.5)
        i = int(1500 * rng.random() ** 1.5)
        age = rng.randint(16, 70)
        hour = rng.randint(0, 23)
        y = 3.5 + users[u] + items[i] + 0.01 * (age - 40) + rng.gauss(0, 0.8)
        rows.append([u + 1, i + 1, age, hour, round(min(5.0, max(0.5, y)) * 2) / 2])
    write(folder, "train.csv", header, rows[:75000])
    write(folder, "test.csv", header, rows[75000:])
    card(folder, name="ratings", task="regression", modality="tabular", target="rating", metric="rmse",
         description="Ratings with integer user and item ids")


def tall(out, rng):
    folder = os.path.join(out, "tall")
    header = [f"x{j}" for j in range(12)] + ["shop", "region", "kind", "bought"]
    shops = [rng.gauss(0, 0.7) for _ in range(200)]
    regions = [rng.gauss(0, 0.4) for _ in range(30)]
    rows = []
    for _ in range(350000):
        x = [rng.gauss(0, 1) for _ in range(12)]
        shop, region, kind = rng.randrange(200), rng.randrange(30), rng.randrange(8)
        z = (0.8 * x[0] - 0.6 * x[1] + 0.9 * x[2] * x[3] + (1.0 if x[4] > 0.5 else -0.3) + 0.4 * x[5] * x[6]
             + shops[shop] + regions[region] + (0.5 if kind in (2, 5) else 0.0) + rng.gauss(0, 1.0))
        cells = [f"{v:.4f}" for v in x] + [f"s{shop}", f"r{region}", f"k{kind}"]
        cells = ["" if rng.random() < 0.05 else c for c in cells]
        rows.append(cells + ["yes" if z > 0.6 else "no"])
    write(folder, "train.csv", header, rows[:300000])
    write(folder, "test.csv", header, rows[300000:])
    card(folder, name="tall", task="binary", modality="tabular", target="bought", metric="roc_auc",
         description="A generated binary task on 300,000 rows of mixed columns")


def ames_small(shared, out, rng):
    folder = os.path.join(out, "ames_small")
    h, rows = read(os.path.join(shared, "ames", "train.csv"))
    rng.shuffle(rows)
    write(folder, "train.csv", h, rows[:125])
    th, test = read(os.path.join(shared, "ames", "test.csv"))
    write(folder, "test.csv", th, test)
    src = json.load(open(os.path.join(shared, "ames", "card.json"), encoding="utf-8"))
    card(folder, name="ames_small", task="regression", modality="tabular", target=src["target"], metric="rmse",
         feature_types=src.get("feature_types", {}), description="125 rows of ames")


def small(shared, out, rng, name, n):
    folder = os.path.join(out, f"{name}_{n}")
    h, rows = read(os.path.join(shared, name, "train.csv"))
    rng.shuffle(rows)
    write(folder, "train.csv", h, rows[:n])
    th, test = read(os.path.join(shared, name, "test.csv"))
    rng.shuffle(test)
    write(folder, "test.csv", th, test[:3000])
    src = json.load(open(os.path.join(shared, name, "card.json"), encoding="utf-8"))
    card(folder, name=f"{name}_{n}", description=f"{n} training rows of {name}", **card_fields(src))


def from_shared(shared, source, folder, make):
    """Writes both splits of the shared set `source` into `folder`, each as make(header, rows,
    target column) returns it (a header and rows); returns the source's card."""
    src = json.load(open(os.path.join(shared, source, "card.json"), encoding="utf-8"))
    for split in ("train", "test"):
        h, rows = read(os.path.join(shared, source, f"{split}.csv"))
        header, made = make(h, rows, h.index(src["target"]))
        write(folder, f"{split}.csv", header, made)
    return src


def card_fields(src, types=True):
    """The fields of a source card a derived set keeps (its column types when `types`)."""
    keep = ("task", "modality", "target", "metric", "positive_class") + (("feature_types",) if types else ())
    return {k: v for k, v in src.items() if k in keep}


def spam_wide(shared, out, rng):
    folder = os.path.join(out, "spam_wide")

    def widen(h, rows, t):
        header = [c for i, c in enumerate(h) if i != t] + [f"noise_{j}" for j in range(300)] + [h[t]]
        return header, [[v for i, v in enumerate(r) if i != t] + [f"{rng.gauss(0, 1):.4f}" for _ in range(300)]
                        + [r[t]] for r in rows]

    src = from_shared(shared, "spam", folder, widen)
    card(folder, name="spam_wide", task="binary", modality="tabular", target=src["target"], metric="roc_auc",
         positive_class=src.get("positive_class"), description="spam with 300 noise columns")


def rare(shared, out, rng):
    folder = os.path.join(out, "rare")
    positive = json.load(open(os.path.join(shared, "adult", "card.json"), encoding="utf-8"))["positive_class"]

    def thin(h, rows, t):
        neg = [r for r in rows if r[t] != positive]
        made = neg + [r for r in rows if r[t] == positive][:max(1, round(0.02 / 0.98 * len(neg)))]
        rng.shuffle(made)
        return h, made

    src = from_shared(shared, "adult", folder, thin)
    card(folder, name="rare", description="adult with 2% positives", **card_fields(src))


def holes(shared, out, rng):
    folder = os.path.join(out, "holes")

    def empty(h, rows, t):
        return h, [["" if i != t and rng.random() < 0.4 else v for i, v in enumerate(r)] for r in rows]

    src = from_shared(shared, "telco_churn", folder, empty)
    card(folder, name="holes", description="telco_churn with 40% of feature cells missing", **card_fields(src))


def untyped(shared, out, name):
    folder = os.path.join(out, f"{name}_untyped")
    src = from_shared(shared, name, folder, lambda h, rows, t: (h, rows))
    card(folder, name=f"{name}_untyped", description=f"{name} without column types", **card_fields(src, types=False))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default="../shared/datasets")
    ap.add_argument("--out", default="runs/shapes")
    ap.add_argument("--only", nargs="*", default=["images28", "ratings", "ames_small", "spam_wide"])
    a = ap.parse_args()
    rng = random.Random(7)
    for name in a.only:
        if name == "images28":
            images28(a.shared, a.out, rng)
        elif name == "ratings":
            ratings(a.out, rng)
        elif name == "ames_small":
            ames_small(a.shared, a.out, rng)
        elif name == "tall":
            tall(a.out, rng)
        elif name == "spam_wide":
            spam_wide(a.shared, a.out, rng)
        elif name == "rare":
            rare(a.shared, a.out, rng)
        elif name == "holes":
            holes(a.shared, a.out, rng)
        elif name.startswith("untyped:") and len(name.split(":")) == 2:
            untyped(a.shared, a.out, name.split(":")[1])
            name = name.split(":")[1] + "_untyped"
        elif name.startswith("small:") and len(name.split(":")) == 3 and name.split(":")[2].isdigit():
            _, source, n = name.split(":")
            small(a.shared, a.out, rng, source, int(n))
            name = f"{source}_{n}"
        else:
            raise SystemExit(f"make_shapes: unknown shape {name}")
        print(f"made {os.path.join(a.out, name)}")


if __name__ == "__main__":
    main()
