"""Helpers shared by mwload.py and dbcheck.py: percentiles and the CSV files of
acknowledged check-ins ("checkin_id,analysis_id")."""


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    i = round((len(sorted_values) - 1) * p)
    return sorted_values[i]


def write_acks(path, acks, mode="w"):
    with open(path, mode) as f:
        for c, an in acks:
            f.write(f"{c},{an}\n")


def read_acks(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                c, an = line.split(",")[:2]
                out.append((c, an))
    return out
