"""The dataset format: your own simulation outputs, ready to train a DGMF model on (docs/training.md).

A dataset is a JSON manifest plus one array file (.npz, or .h5/.hdf5 through h5py) beside it:

    manifest  {"format": "dgmf-dataset/1", "name": ..., "description": ..., "arrays": "runs.npz",
               "params": [{"name": "Re", "min": 10, "max": 510}, ...],
               "fidelity": {"kind": "discrete", "labels": ["nx16", "nx32", "nx64"]}
                        or {"kind": "continuous", "name": "h", "min": 0, "max": 0.25, "target": 0},
               "coords": [{"name": "t", "min": 0, "max": 3}]}                  (optional)
    arrays    u [N, C, *grid] (1-D or 2-D grid, channel axis explicit), params [N, P],
              fidelity [N] (discrete: the level index 0..K-1, low -> high; continuous: the value),
              coords [N, Q] (exactly when the manifest declares coords),
              case [N] int (optional: rows of one simulation, kept together by split()),
              known_mask [C, *grid] bool + known_maps [K, P, C, *grid] (optional, discrete fidelity:
              output values fixed by the inputs, u = sum_{k,p} onehot[k] params[p] known_maps[k, p]
              on the mask, e.g. Dirichlet data; the exported model imposes them exactly)

Every row is one output on the common grid; fidelities that ran on other grids are resampled onto it
first (resample()).  load() checks everything it can and raises DatasetError naming the array, the
row and the fix.  No torch here: data preparation needs numpy (and h5py for HDF5 files) only.
"""
from __future__ import annotations

import json
import os
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

FORMAT = "dgmf-dataset/1"
ARRAYS = ("u", "params", "fidelity", "coords", "case", "known_mask", "known_maps")


class DatasetError(ValueError):
    """A manifest or array that does not describe a usable dataset; the message says what and how."""


@dataclass(frozen=True)
class Range:
    name: str
    min: float
    max: float


@dataclass(frozen=True)
class Fidelity:
    kind: str                      # "discrete" or "continuous"
    labels: tuple = ()             # discrete: one per level, low -> high fidelity
    name: str = "fidelity"         # continuous: what the value is (e.g. "h")
    min: float = 0.0               # continuous: declared range
    max: float = 0.0
    target: float | None = None    # the fidelity predictions are wanted at (held-out splits)

    @property
    def levels(self):
        return len(self.labels)

    @property
    def input_levels(self):
        """fidelity_inputs' `levels`: the level count of a discrete fidelity, None for a continuous one."""
        return self.levels if self.kind == "discrete" else None

    def inputs(self, values):
        """The networks' fidelity input for these values (fidelity_inputs)."""
        return fidelity_inputs(self.input_levels, values)

    def target_value(self):
        """Discrete: the target level index (default: the top level); continuous: the value."""
        if self.kind == "discrete":
            return float(self.levels - 1 if self.target is None else self.target)
        return float(self.target)


@dataclass(frozen=True)
class Manifest:
    name: str
    description: str
    params: tuple
    fidelity: Fidelity
    coords: tuple = ()
    arrays: str = ""

    def to_json(self):
        f = self.fidelity
        fid = ({"kind": "discrete", "labels": list(f.labels)} if f.kind == "discrete" else
               {"kind": "continuous", "name": f.name, "min": f.min, "max": f.max})
        if f.target is not None:
            fid["target"] = f.target
        out = {"format": FORMAT, "name": self.name, "description": self.description,
               "arrays": self.arrays,
               "params": [{"name": r.name, "min": r.min, "max": r.max} for r in self.params],
               "fidelity": fid}
        if self.coords:
            out["coords"] = [{"name": r.name, "min": r.min, "max": r.max} for r in self.coords]
        return out


@dataclass
class Dataset:
    manifest: Manifest
    u: np.ndarray                  # [N, C, *grid] float
    params: np.ndarray             # [N, P] float64
    fidelity: np.ndarray           # [N] float64 (discrete: integral level indices)
    coords: np.ndarray | None = None   # [N, Q] float64
    case: np.ndarray = field(default=None)  # [N] int64
    known: tuple | None = None     # (known_mask [C, *grid] bool, known_maps [K, P, C, *grid])

    def __post_init__(self):
        if self.case is None:
            self.case = np.arange(len(self.u), dtype=np.int64)

    def __len__(self):
        return len(self.u)

    def rows(self, keep):
        """The dataset restricted to a boolean mask or index array of rows."""
        return replace(self, u=self.u[keep], params=self.params[keep], fidelity=self.fidelity[keep],
                       coords=None if self.coords is None else self.coords[keep], case=self.case[keep])


# ------------------------------------------------------------------------------------ manifest
def _where(path):
    return f"manifest {path}" if path else "manifest"


F32_MAX = float(np.finfo(np.float32).max)


def _number(value, what, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DatasetError(f"{where}: {what} must be a finite number, got {value!r}")
    if abs(value) > F32_MAX:
        raise DatasetError(f"{where}: {what} = {value:g} is outside the float32 range (±3.4e38) the "
                           "network computes in; rescale the variable")
    return float(value)


def _ranges(items, what, where):
    if not isinstance(items, list) or not items:
        raise DatasetError(f"{where}: `{what}` must be a non-empty list of "
                           '{"name": ..., "min": ..., "max": ...}')
    out = []
    for i, r in enumerate(items):
        if not isinstance(r, dict) or set(r) != {"name", "min", "max"}:
            raise DatasetError(f"{where}: {what}[{i}] must be an object with exactly the keys "
                               f"name, min, max; got {r!r}")
        name = r["name"]
        if not isinstance(name, str) or not name or "," in name or name != name.strip():
            raise DatasetError(f"{where}: {what}[{i}].name must be a non-empty string without commas "
                               f"or surrounding spaces, got {name!r}")
        lo, hi = _number(r["min"], f"{what}[{i}].min", where), _number(r["max"], f"{what}[{i}].max", where)
        if not lo < hi:
            raise DatasetError(f"{where}: {what}[{i}] (`{name}`) has min {lo} >= max {hi}; "
                               "the range must have min < max")
        out.append(Range(name, lo, hi))
    names = [r.name for r in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DatasetError(f"{where}: {what} names must be unique, repeated: {', '.join(dup)}")
    return tuple(out)


def _fidelity(f, where):
    if not isinstance(f, dict) or f.get("kind") not in ("discrete", "continuous"):
        raise DatasetError(f"{where}: `fidelity` must be an object with \"kind\": \"discrete\" or "
                           f"\"continuous\", got {f!r}")
    if f["kind"] == "discrete":
        extra = set(f) - {"kind", "labels", "target"}
        labels = f.get("labels")
        if extra or not isinstance(labels, list) or not labels or \
                not all(isinstance(s, str) and s and "," not in s for s in labels):
            raise DatasetError(f"{where}: a discrete fidelity is {{\"kind\": \"discrete\", \"labels\": "
                               "[one non-empty name per level, lowest fidelity first, no commas]}, "
                               f"optionally \"target\": a level index; got {f!r}")
        if len(set(labels)) != len(labels):
            raise DatasetError(f"{where}: fidelity labels must be unique, got {labels}")
        target = f.get("target")
        if target is not None and (isinstance(target, bool) or not isinstance(target, int)
                                   or not 0 <= target < len(labels)):
            raise DatasetError(f"{where}: fidelity.target must be a level index 0..{len(labels) - 1}, "
                               f"got {target!r}")
        return Fidelity("discrete", labels=tuple(labels), target=target)
    extra = set(f) - {"kind", "name", "min", "max", "target"}
    if extra or not {"min", "max", "target"} <= set(f):
        raise DatasetError(f"{where}: a continuous fidelity is {{\"kind\": \"continuous\", \"name\": ..., "
                           "\"min\": ..., \"max\": ..., \"target\": the value predictions are wanted at "
                           f"(the held-out splits are drawn from its rows)}}; got {f!r}")
    lo, hi = _number(f["min"], "fidelity.min", where), _number(f["max"], "fidelity.max", where)
    target = _number(f["target"], "fidelity.target", where)
    if not lo < hi:
        raise DatasetError(f"{where}: fidelity min {lo} >= max {hi}; the range must have min < max")
    if not lo <= target <= hi:
        raise DatasetError(f"{where}: fidelity.target {target} is outside [{lo}, {hi}]")
    name = f.get("name", "fidelity")
    if not isinstance(name, str) or not name:
        raise DatasetError(f"{where}: fidelity.name must be a non-empty string, got {name!r}")
    return Fidelity("continuous", name=name, min=lo, max=hi, target=target)


def parse_manifest(doc, path=None):
    """A Manifest from the parsed JSON `doc`; DatasetError on anything missing or malformed."""
    where = _where(path)
    if not isinstance(doc, dict):
        raise DatasetError(f"{where}: must be a JSON object, got {type(doc).__name__}")
    if doc.get("format") != FORMAT:
        raise DatasetError(f"{where}: \"format\" must be \"{FORMAT}\", got {doc.get('format')!r}")
    known = {"format", "name", "description", "arrays", "params", "fidelity", "coords"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise DatasetError(f"{where}: unknown keys {unknown}; the keys are {sorted(known)}")
    for key in ("name", "arrays"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise DatasetError(f"{where}: \"{key}\" must be a non-empty string")
    if "/" in doc["arrays"] or "\\" in doc["arrays"] or doc["arrays"] in (".", ".."):
        raise DatasetError(f"{where}: \"arrays\" is {doc['arrays']!r}; give a file name in the manifest's "
                           "directory (no path: nothing outside the dataset's folder is read)")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise DatasetError(f"{where}: \"description\" must be a string")
    return Manifest(name=doc["name"], description=description, arrays=doc["arrays"],
                    params=_ranges(doc.get("params"), "params", where),
                    fidelity=_fidelity(doc.get("fidelity"), where),
                    coords=_ranges(doc["coords"], "coords", where) if "coords" in doc else ())


def read_manifest(path):
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise DatasetError(f"cannot read manifest {path}: {e.strerror or e}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"manifest {path} is not JSON: {e}") from None
    return parse_manifest(doc, path)


# ------------------------------------------------------------------------------------ arrays
def memory_limit():
    """Most bytes the arrays of one dataset may take in memory: half the machine's physical memory (an
    array header may claim any size; it is refused from the header, before anything is allocated)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _check_size(path, key, shape, dtype, budget):
    if dtype.kind == "O":  # never unpickled (allow_pickle=False); refused by name instead
        raise DatasetError(f"{path}: `{key}` holds Python objects (dtype object), which are never "
                           f"unpickled; store real numbers, e.g. np.asarray({key}, dtype=np.float32)")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if nbytes > budget[0]:
        raise DatasetError(f"{path}: `{key}` of shape {tuple(shape)} ({dtype}) would take {nbytes / 2**30:.1f} "
                           f"GiB, more than the {budget[0] / 2**30:.1f} GiB left for this dataset's arrays "
                           "(half the machine's memory); split the dataset or use a smaller grid")
    budget[0] -= nbytes


def _read_h5(path, budget):
    import h5py
    out = {}
    with h5py.File(path, "r") as f:
        for k in ARRAYS:
            link = f.get(k, getlink=True)
            if link is None:
                continue
            # Nothing outside the dataset is opened because of its content: no links to other files, no
            # external raw storage, no virtual datasets (which map other files).
            if isinstance(link, h5py.ExternalLink):
                raise DatasetError(f"{path}: `{k}` is an HDF5 external link to {link.filename}; store the "
                                   "array in the file itself (h5py: f[k] = array)")
            ds = f[k]
            if not isinstance(ds, h5py.Dataset):
                raise DatasetError(f"{path}: `{k}` is an HDF5 group, not an array")
            if ds.external or ds.is_virtual:
                raise DatasetError(f"{path}: `{k}` keeps its data outside the file (HDF5 "
                                   f"{'external storage' if ds.external else 'virtual dataset'}); store the "
                                   "array in the file itself")
            _check_size(path, k, ds.shape or (), ds.dtype, budget)
            out[k] = np.asarray(ds)
    return out


def _read_npz(path, budget):
    out = {}
    with np.load(path, allow_pickle=False) as z:
        for k in ARRAYS:
            if k not in z.files:
                continue
            # The header first: its shape and dtype bound the array before numpy allocates it.
            with z.zip.open(k + ".npy") as fp:
                version = np.lib.format.read_magic(fp)
                read = {(1, 0): np.lib.format.read_array_header_1_0,
                        (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                if read is None:
                    raise DatasetError(f"{path}: `{k}` has .npy format version {version}; save with numpy")
                shape, _, dtype = read(fp)
            _check_size(path, k, shape, dtype, budget)
            out[k] = z[k]
    return out


def _read_arrays(path):
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"array file {path} does not exist or is not a regular file (the manifest's "
                           "\"arrays\" names a file in the manifest's directory)")
    budget = [memory_limit()]
    if path.suffix in (".h5", ".hdf5"):
        try:
            import h5py  # noqa: F401
        except ImportError:
            raise DatasetError(f"{path} is HDF5: install h5py (pip install h5py) or save it as .npz") from None
        return _read_guarded(_read_h5, path, budget, "HDF5", (OSError, KeyError, ValueError, TypeError))
    if path.suffix != ".npz":
        raise DatasetError(f"{path}: the array file must be .npz, .h5 or .hdf5")
    return _read_guarded(_read_npz, path, budget, ".npz", (OSError, ValueError, KeyError, EOFError))


def _read_guarded(read, path, budget, what, errors):
    """`read(path, budget)` with the reader's own failures (`errors`) and memory exhaustion as one-line
    DatasetErrors; a DatasetError it raises passes as it is."""
    try:
        return read(path, budget)
    except DatasetError:
        raise
    except errors as e:
        raise DatasetError(f"cannot read {path} as {what}: {e}") from None
    except MemoryError:
        raise DatasetError(f"{path}: the arrays do not fit in memory") from None


def _first_bad(mask):
    return int(np.flatnonzero(mask)[0])


def _check_dtype(a, key, src):
    """Real numbers only: bool, complex, strings, dates, records and objects are refused by name."""
    if a.dtype.kind not in "fiu":
        raise DatasetError(f"{src}: `{key}` holds {a.dtype} values; the arrays hold real numbers "
                           f"(floats or integers): store it as e.g. np.asarray({key}, dtype=np.float32)")


def _as_float(a, key, src):
    _check_dtype(a, key, src)
    a = a.astype(np.float64)
    bad = ~np.isfinite(a.reshape(len(a), -1)).all(axis=1) if a.ndim > 1 else ~np.isfinite(a)
    if bad.any():
        raise DatasetError(f"{src}: `{key}` has {int(bad.sum())} row(s) with NaN or inf, the first "
                           f"at row {_first_bad(bad)}; drop or recompute those rows")
    big = np.abs(a.reshape(len(a), -1)).max(axis=1) > F32_MAX if a.size else np.zeros(0, bool)
    if big.any():
        raise DatasetError(f"{src}: `{key}` has values beyond the float32 range (±3.4e38), the first "
                           f"at row {_first_bad(big)}; rescale the data")
    return a


def _check_ranges(values, ranges, key, src):
    for j, r in enumerate(ranges):
        col = values[:, j]
        out = (col < r.min) | (col > r.max)
        if out.any():
            i = _first_bad(out)
            raise DatasetError(
                f"{src}: {key} `{r.name}` = {col[i]:.9g} at row {i} is outside the declared range "
                f"[{r.min:.9g}, {r.max:.9g}] ({int(out.sum())} row(s); data range "
                f"[{col.min():.9g}, {col.max():.9g}]); widen the manifest's range to cover the data "
                "or drop those rows")


def validate(m: Manifest, arrays: dict, src="dataset"):
    """Checked, converted arrays -> Dataset; DatasetError naming the array, the row and the fix."""
    for key in ("u", "params", "fidelity"):
        if key not in arrays:
            raise DatasetError(f"{src}: missing array `{key}` (needed: u [N, C, *grid], params [N, P], "
                               "fidelity [N]; optional: coords [N, Q], case [N])")
    if m.coords and "coords" not in arrays:
        raise DatasetError(f"{src}: the manifest declares coords {[r.name for r in m.coords]} but there "
                           "is no `coords` array [N, Q]")
    if not m.coords and "coords" in arrays:
        raise DatasetError(f"{src}: has a `coords` array but the manifest declares no coords; add "
                           "\"coords\": [{\"name\": ..., \"min\": ..., \"max\": ...}] or drop the array")
    for key in ("u", "params", "fidelity", "coords", "case"):
        if key in arrays:
            _check_dtype(arrays[key], key, src)
    u = arrays["u"]
    if u.ndim not in (3, 4):
        hint = (" (one channel: add the axis, u[:, None])" if u.ndim in (2, 3) else "")
        raise DatasetError(f"{src}: `u` must be [N, C, L] (1-D grid) or [N, C, H, W] (2-D grid), got "
                           f"shape {u.shape}{hint}")
    n = len(u)
    if n == 0:
        raise DatasetError(f"{src}: no rows")
    u = _as_float(u, "u", src)
    params = arrays["params"]
    if params.ndim == 1 and len(m.params) == 1:
        params = params[:, None]
    if params.ndim != 2 or params.shape[1] != len(m.params):
        raise DatasetError(f"{src}: `params` must be [N, {len(m.params)}] (one column per manifest "
                           f"param: {', '.join(r.name for r in m.params)}), got shape {params.shape}")
    fidelity = arrays["fidelity"]
    if fidelity.ndim == 2 and fidelity.shape[1] == 1:
        fidelity = fidelity[:, 0]
    if fidelity.ndim != 1:
        raise DatasetError(f"{src}: `fidelity` must be [N] (one value per row), got shape {fidelity.shape}")
    sizes = {"u": n, "params": len(params), "fidelity": len(fidelity)}
    coords = arrays.get("coords")
    if coords is not None:
        if coords.ndim == 1 and len(m.coords) == 1:
            coords = coords[:, None]
        if coords.ndim != 2 or coords.shape[1] != len(m.coords):
            raise DatasetError(f"{src}: `coords` must be [N, {len(m.coords)}] (one column per manifest "
                               f"coord), got shape {coords.shape}")
        sizes["coords"] = len(coords)
    case = arrays.get("case")
    if case is not None:
        if case.ndim != 1:
            raise DatasetError(f"{src}: `case` must be [N] integers, got shape {case.shape}")
        sizes["case"] = len(case)
    if len(set(sizes.values())) != 1:
        raise DatasetError(f"{src}: the arrays disagree on the number of rows N: "
                           + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    params = _as_float(params, "params", src)
    fidelity = _as_float(fidelity, "fidelity", src)
    _check_ranges(params, m.params, "param", src)
    if coords is not None:
        coords = _as_float(coords, "coords", src)
        _check_ranges(coords, m.coords, "coord", src)
    f = m.fidelity
    if f.kind == "discrete":
        bad = (fidelity != np.round(fidelity)) | (fidelity < 0) | (fidelity >= f.levels)
        if bad.any():
            i = _first_bad(bad)
            raise DatasetError(f"{src}: fidelity {fidelity[i]:g} at row {i} is not a level index "
                               f"0..{f.levels - 1} (levels {', '.join(f.labels)}); a discrete fidelity "
                               "is stored as the level's index")
        counts = np.bincount(fidelity.astype(np.int64), minlength=f.levels)
        empty = [f"{k} (`{f.labels[k]}`)" for k in range(f.levels) if counts[k] == 0]
        if empty:
            raise DatasetError(f"{src}: fidelity level(s) {', '.join(empty)} have no rows; add data at "
                               "that level or remove its label")
    else:
        _check_ranges(fidelity[:, None], (Range(f.name, f.min, f.max),), "fidelity", src)
    known = _known_values(m, arrays, u, params, fidelity, src)
    if case is None:
        case = np.arange(n, dtype=np.int64)
    else:
        if case.dtype.kind not in "iu":
            raise DatasetError(f"{src}: `case` must be integers, got dtype {case.dtype}")
        case = case.astype(np.int64)
        # Sorted by case, a case mixes fidelities where two neighbours share it but not the fidelity.
        order = np.lexsort((fidelity, case))
        c, f = case[order], fidelity[order]
        mixed = c[1:][(c[1:] == c[:-1]) & (f[1:] != f[:-1])]
        if mixed.size:
            raise DatasetError(f"{src}: case {mixed.min()} has rows at different fidelities; a case is one "
                               "simulation (one fidelity), give each its own id")
    return Dataset(m, u, params, fidelity, coords, case, known)


def _known_values(m, arrays, u, params, fidelity, src):
    """(mask, maps) when both arrays are present, checked against the data: every row must hold
    the known values on the mask (to 1e-5 relative), else the map is wrong."""
    have = [k for k in ("known_mask", "known_maps") if k in arrays]
    if not have:
        return None
    if len(have) == 1:
        raise DatasetError(f"{src}: known values need both `known_mask` and `known_maps`, got only "
                           f"`{have[0]}`")
    if m.fidelity.kind != "discrete":
        raise DatasetError(f"{src}: known values are linear maps per discrete fidelity level; this "
                           "dataset's fidelity is continuous (drop known_mask/known_maps)")
    mask, maps = arrays["known_mask"], arrays["known_maps"]
    grid = u.shape[1:]
    want = (m.fidelity.levels, len(m.params)) + grid
    if mask.shape != grid or mask.dtype != np.bool_:
        raise DatasetError(f"{src}: `known_mask` must be bool of shape {grid} (one row of u), got "
                           f"{mask.dtype} {mask.shape}")
    if maps.shape != want:
        raise DatasetError(f"{src}: `known_maps` must be [K, P, *row] = {want}, got {maps.shape}")
    maps = _as_float(maps, "known_maps", src)
    # b = params . maps[level] on the mask, one level at a time (memory N x mask points, not N x P x grid).
    flat_m = mask.reshape(-1)
    flat_u = u.reshape(len(u), -1)[:, flat_m]
    level = fidelity.astype(np.int64)
    b = np.empty_like(flat_u)
    for k in range(m.fidelity.levels):
        rows = level == k
        b[rows] = params[rows] @ maps[k].reshape(len(m.params), -1)[:, flat_m]
    err = np.abs(b - flat_u)
    tol = 1e-5 * (1 + np.abs(flat_u))
    bad = (err > tol).any(axis=1)
    if bad.any():
        i = _first_bad(bad)
        raise DatasetError(f"{src}: row {i} differs from its known values by {err[i].max():.3g} on "
                           f"the mask ({int(bad.sum())} row(s)); known_maps must reproduce u there exactly")
    return mask, maps


def load(manifest_path):
    """Reads and validates a dataset from its manifest (the arrays file is found beside it)."""
    manifest_path = Path(manifest_path)
    m = read_manifest(manifest_path)
    arrays_path = manifest_path.parent / m.arrays
    # Only a file in the manifest's own directory, also after symlinks are resolved.
    inside = manifest_path.parent.resolve()
    if arrays_path.resolve().parent != inside:
        raise DatasetError(f"{manifest_path}: \"arrays\" resolves to {arrays_path.resolve()}, outside the "
                           f"manifest's directory {inside}; put the array file beside the manifest")
    return validate(m, _read_arrays(arrays_path), src=str(arrays_path))


def save(ds: Dataset, manifest_path, arrays_name=None):
    """Writes the manifest and its .npz beside it (arrays_name: default <manifest stem>.npz)."""
    manifest_path = Path(manifest_path)
    arrays_name = arrays_name or manifest_path.with_suffix(".npz").name
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    arrays = dict(u=np.asarray(ds.u, np.float32), params=ds.params, fidelity=ds.fidelity, case=ds.case)
    if ds.coords is not None:
        arrays["coords"] = ds.coords
    if ds.known is not None:
        arrays["known_mask"], arrays["known_maps"] = ds.known
    np.savez(manifest_path.parent / arrays_name, **arrays)
    m = replace(ds.manifest, arrays=arrays_name)
    manifest_path.write_text(json.dumps(m.to_json(), indent=1) + "\n")
    return manifest_path


def fidelity_inputs(levels, values):
    """The networks' fidelity input (a score model's and a regression baseline's): one-hot [N, levels] for a
    discrete fidelity of `levels` levels, the value [N, 1] for a continuous one (levels None); float32."""
    values = np.asarray(values)
    return (np.eye(levels, dtype=np.float32)[values.astype(np.int64)] if levels is not None
            else values.astype(np.float32)[:, None])


# ------------------------------------------------------------------------------------ split
def target_cases(ds: Dataset):
    """The cases with rows at the target fidelity (the ones split can hold out), sorted."""
    target = ds.manifest.fidelity.target_value()
    at_target = np.isclose(ds.fidelity, target, rtol=0, atol=1e-12 * max(1.0, abs(target)))
    return np.unique(ds.case[at_target])


def split(ds: Dataset, seed=0, calib=0.2, test=0.2):
    """(train, calib, test): the held-out splits are whole cases drawn (by `seed`) from the cases at
    the target fidelity (fractions of those cases); everything else trains.  Calibration fits the
    ensemble std's scale, test reports; neither shares a case with training."""
    for what, frac in (("calib", calib), ("test", test)):
        if not 0 <= frac < 1:
            raise DatasetError(f"split: the {what} fraction must be in [0, 1), got {frac}")
    target = ds.manifest.fidelity.target_value()
    cases = target_cases(ds)
    n_cal, n_test = int(round(calib * len(cases))), int(round(test * len(cases)))
    if len(cases) - n_cal - n_test < 1 or (calib and not n_cal) or (test and not n_test):
        raise DatasetError(
            f"split: {len(cases)} case(s) at the target fidelity {target:g} cannot give "
            f"{calib:.0%} calibration and {test:.0%} test cases and keep one for training; add cases at "
            "the target fidelity or lower the fractions")
    order = np.random.default_rng(seed).permutation(cases)
    cal_cases, test_cases = order[:n_cal], order[n_cal:n_cal + n_test]
    in_cal, in_test = np.isin(ds.case, cal_cases), np.isin(ds.case, test_cases)
    return ds.rows(~(in_cal | in_test)), ds.rows(in_cal), ds.rows(in_test)


def write_cases(ds: Dataset, out_dir):
    """A held-out split in the directory layout `dgmf calibrate --data` and the accuracy tools read:
    params.npy, fidelity.npy, u.npy [N, C, *grid] (float32), and coords.npy + case.npy when the
    dataset has coords (the rows of one case are one field)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "params.npy", ds.params)
    np.save(out / "fidelity.npy", ds.fidelity)
    np.save(out / "u.npy", np.asarray(ds.u, np.float32))
    if ds.coords is not None:
        np.save(out / "coords.npy", ds.coords)
        np.save(out / "case.npy", ds.case)
    return out


# ------------------------------------------------------------------------------------ resample
def resample(u, grid):
    """u [..., *src] sampled on a node-aligned grid (endpoints included: x_i = i / (n - 1) on each
    axis) -> the same field linearly (1-D) or bilinearly (2-D) interpolated onto `grid` (a tuple of
    node counts, endpoints included).  Exact for fields linear in each axis; second-order accurate
    for smooth fields; never overshoots the data.  Cell-centred data must be mapped to nodes first."""
    u = np.asarray(u, np.float64)
    grid = tuple(int(g) for g in grid)
    if len(grid) not in (1, 2) or u.ndim < len(grid) or any(g < 2 for g in grid):
        raise DatasetError(f"resample: grid must be 1 or 2 node counts >= 2 matching u's last axes, "
                           f"got grid {grid} for u of shape {u.shape}")
    src = u.shape[u.ndim - len(grid):]
    if any(s < 2 for s in src):
        raise DatasetError(f"resample: the source grid {src} needs >= 2 nodes per axis")
    for axis, (s, g) in enumerate(zip(src, grid)):
        x_src, x_dst = np.linspace(0, 1, s), np.linspace(0, 1, g)
        pos = np.clip(np.searchsorted(x_src, x_dst, side="right") - 1, 0, s - 2)
        w = (x_dst - x_src[pos]) / (x_src[pos + 1] - x_src[pos])
        ax = u.ndim - len(grid) + axis
        lo, hi = np.take(u, pos, axis=ax), np.take(u, pos + 1, axis=ax)
        shape = [1] * u.ndim
        shape[ax] = g
        u = lo * (1 - w.reshape(shape)) + hi * w.reshape(shape)
    return u
