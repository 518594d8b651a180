"""Greedy start plan and plan repair for the experimental highspy model (`hmodel`).

Both work with offers off (y = 0, z = 0), which always satisfies rows 3–6; u is
computed exactly from x: u_m = min(addressable, Σ reach x, stack condition).
"""

from __future__ import annotations

import numpy as np


def csc(hm):
    lp = hm.h.getLp()
    a = lp.a_matrix_
    start, index, value = np.array(a.start_), np.array(a.index_), np.array(a.value_)
    lo, hi = np.array(lp.row_lower_), np.array(lp.row_upper_)
    if len(start) == len(lo) + 1 and len(lo) != lp.num_col_:  # row-wise: convert to column-wise
        rows = np.repeat(np.arange(len(lo)), np.diff(start))
        order = np.argsort(index, kind="stable")
        cols = index[order]
        start = np.searchsorted(cols, np.arange(lp.num_col_ + 1))
        index, value = rows[order], value[order]
    return start, index, value, lo, hi


def activity(hm, col):
    start, index, value, lo, hi = csc(hm)
    act = np.zeros(len(lo))
    counts = np.diff(start)
    np.add.at(act, index, value * np.repeat(col, counts))
    return act, lo, hi


def u_of(hm, x):
    d = hm.data
    u = np.zeros(hm.n_u)
    for mi, mk in enumerate(d["markets"]):
        cap = d["ub"][hm.n_x + hm.n_y + hm.n_z + mi]
        terms = d["reach_mat"][mi]
        r = sum(v * x[j] for j, v in terms.items())
        for layer in mk.required_layers:
            if not any(x[o] > 0.5 for o in d["operating"].get((mi, layer), [])):
                r = 0.0
        u[mi] = min(cap, r)
    return u


def full_col(hm, x, y=None, z=None):
    col = np.zeros(hm.n)
    col[: hm.n_x] = x
    if y is not None:
        col[hm.n_x : hm.n_x + hm.n_y] = y
        col[hm.n_x + hm.n_y : hm.n_x + hm.n_y + hm.n_z] = z
    col[hm.n_x + hm.n_y + hm.n_z :] = u_of(hm, x)
    return col


def feasible(hm, col, tol=1e-7):
    act, lo, hi = activity(hm, col)
    d = hm.data
    return bool(
        np.all(act >= lo - tol * np.maximum(1, abs(lo)))
        and np.all(act <= hi + tol * np.maximum(1, abs(hi)))
        and np.all(col >= d["lb"] - tol)
        and np.all(col <= d["ub"] + tol)
    )


def greedy(hm):
    """Add the option of best Δ weighted reach / cost while every row stays satisfied."""
    start, index, value, lo, hi = csc(hm)
    d = hm.data
    n_x = hm.n_x
    U0 = hm.n_x + hm.n_y + hm.n_z
    x = d["lb"][:n_x].copy()
    col = np.zeros(hm.n)
    col[:n_x] = x
    act = np.zeros(len(lo))
    np.add.at(act, index, value * np.repeat(col, np.diff(start)))
    weights = hm.reach[U0:]
    caps = d["ub"][U0:]
    by_opt: dict[int, list[tuple[int, float]]] = {}
    for mi, terms in d["reach_mat"].items():
        for j, v in terms.items():
            by_opt.setdefault(j, []).append((mi, v))
    # stack: per market, list of (layer, set of options); satisfied when each layer has one chosen
    need: dict[int, list[set]] = {}
    for mi, mk in enumerate(d["markets"]):
        need[mi] = [set(d["operating"].get((mi, la), [])) for la in mk.required_layers]
    stack_of: dict[int, list[int]] = {}
    for mi, sets in need.items():
        for st in sets:
            for o in st:
                stack_of.setdefault(o, []).append(mi)
    raw = np.zeros(hm.n_u)
    for j in range(n_x):
        if x[j] > 0.5:
            for mi, v in by_opt.get(j, []):
                raw[mi] += v

    def stack_ok(mi, extra=None):
        return all(any(x[o] > 0.5 or o == extra for o in st) for st in need[mi])

    def value_of(mi, r, extra=None):
        return weights[mi] * min(caps[mi], r) if stack_ok(mi, extra) else 0.0

    def ok(o):
        s, e = start[o], start[o + 1]
        rows = index[s:e]
        new = act[rows] + value[s:e]
        return np.all(new >= lo[rows] - 1e-7) and np.all(new <= hi[rows] + 1e-7)

    cand = [o for o in range(n_x) if d["ub"][o] > 0.5 and x[o] < 0.5]
    while True:
        best, best_ratio = None, 0.0
        for o in cand:
            if x[o] > 0.5 or not ok(o):
                continue
            gain = 0.0
            touched = {mi for mi, _ in by_opt.get(o, [])} | set(stack_of.get(o, []))
            add = dict(by_opt.get(o, []))
            for mi in touched:
                gain += value_of(mi, raw[mi] + add.get(mi, 0.0), o) - value_of(mi, raw[mi])
            ratio = gain / max(hm.cost[o], 1e-9)
            if ratio > best_ratio + 1e-12:
                best, best_ratio = o, ratio
        if best is None:
            break
        x[best] = 1
        for mi, v in by_opt.get(best, []):
            raw[mi] += v
        s, e = start[best], start[best + 1]
        act[index[s:e]] += value[s:e]
    return x
