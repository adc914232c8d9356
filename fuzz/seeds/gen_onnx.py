#!/usr/bin/env python3
"""Writes fuzz/seeds/onnx/*.onnx: ModelProto seeds for the byte-level fuzz targets (onnx_header,
onnx_differential, model_bytes), encoded by hand so that every place a TensorProto can live is present
and one byte away from pointing outside the file:

- clean_everywhere.onnx: a tensor in every place (graph initializer, sparse initializer values/indices,
  node attribute t/tensors/sparse_tensor/sparse_tensors, subgraphs g/graphs two levels deep, training
  initialization/algorithm graphs, a function's node and default attribute). Each tensor carries
  `data_location` as a 10-byte varint 0 (a single byte flip gives DEFAULT, EXTERNAL, an unknown value or
  one above 32 bits) and a doc_string (field 12) whose payload is a valid StringStringEntryProto, so that
  flipping its key byte 0x62 to 0x6a turns it into an external_data entry with lengths intact.
- ext_*.onnx: one external tensor per place; enc_*.onnx: the encodings read_header treats conservatively;
  refuse_*.onnx: the refusals read_header makes after decoding.

Every seed is parsed with the Python protobuf of the pinned `onnx` package (tests/requirements.txt), and
what it says about external data is checked against the seed's name. Run: python3 fuzz/seeds/gen_onnx.py
"""
import os
import sys

import onnx

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx")


def varint(v):
    out = b""
    while True:
        b, v = v & 0x7F, v >> 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def ld(field, payload):
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def num(field, v):
    return varint(field << 3) + varint(v)


ENTRY = ld(1, b"location") + ld(2, b"weights.bin")
PADDED_ZERO = varint(14 << 3) + b"\x80" * 9 + b"\x00"


def tensor(name, extra=PADDED_ZERO, dtype=1):
    return num(1, 4) + num(2, dtype) + ld(8, name) + ld(9, bytes(16 if dtype == 1 else 32)) + ld(12, ENTRY) + extra


def sparse(name, extra=PADDED_ZERO):
    return ld(1, tensor(name + b"_v", extra)) + ld(2, tensor(name + b"_i", dtype=7)) + num(3, 4)


def attr(name, field, payload):
    return ld(1, name) + ld(field, payload)


def node(name, attrs, op=b"Constant"):
    return ld(1, b"x") + ld(2, b"y") + ld(3, name) + ld(4, op) + b"".join(ld(5, a) for a in attrs)


def graph(name, parts):
    return ld(2, name) + b"".join(parts)


def model(graph_bytes, extra=b"", ir=10, opset=17):
    return (num(1, ir) + ld(2, b"dgmf-seed") + ld(7, graph_bytes) + ld(8, ld(1, b"") + num(2, opset))
            + ld(14, ld(1, b"dgmf.contract") + ld(2, b"1")) + extra)


def clean_everywhere(x=PADDED_ZERO, where=None):
    """The kitchen-sink model; the tensor at `where` gets `x` instead of a padded zero."""
    def t(name, dtype=1):
        return tensor(name, x if name == where else PADDED_ZERO, dtype)

    def s(name):
        return ld(1, t(name + b"_v")) + ld(2, t(name + b"_i", 7)) + num(3, 4)

    inner = graph(b"inner", [ld(5, t(b"inner_w")), ld(1, node(b"inner_c", [attr(b"value", 5, t(b"inner_t"))]))])
    sub = graph(b"sub", [ld(5, t(b"sub_w")), ld(1, node(b"sub_if", [attr(b"then_branch", 6, inner)], b"If"))])
    main = graph(b"main", [
        ld(5, t(b"init")),
        ld(15, s(b"sparse_init")),
        ld(1, node(b"c_t", [attr(b"value", 5, t(b"attr_t"))])),
        ld(1, node(b"c_ts", [attr(b"values", 10, t(b"attr_ts0")), attr(b"values2", 10, t(b"attr_ts1"))])),
        ld(1, node(b"c_s", [attr(b"sparse_value", 22, s(b"attr_s"))])),
        ld(1, node(b"c_ss", [attr(b"sparse_values", 23, s(b"attr_ss"))])),
        ld(1, node(b"if", [attr(b"else_branch", 6, sub)], b"If")),
        ld(1, node(b"scan", [attr(b"bodies", 11, graph(b"body", [ld(5, t(b"body_w"))]))], b"Scan")),
    ])
    training = ld(20, ld(1, graph(b"init", [ld(5, t(b"train_init"))])) + ld(2, graph(b"algo", [ld(5, t(b"train_algo"))])))
    function = ld(25, ld(1, b"f") + ld(10, b"local") + ld(7, node(b"f_c", [attr(b"value", 5, t(b"func_t"))]))
                  + ld(11, attr(b"default", 5, t(b"func_default"))))
    return model(main, training + function + ld(8, ld(1, b"local") + num(2, 1)))


PLACES = [b"init", b"sparse_init_v", b"sparse_init_i", b"attr_t", b"attr_ts1", b"attr_s_v", b"attr_ss_i",
          b"inner_w", b"inner_t", b"sub_w", b"body_w", b"train_init", b"train_algo", b"func_t", b"func_default"]


def protobuf_view(data):
    """(tensors, external tensor names) as the Python protobuf of the onnx package reads `data`."""
    m = onnx.ModelProto.FromString(data)
    found, count = [], 0

    def walk(msg):
        nonlocal count
        if isinstance(msg, onnx.TensorProto):
            count += 1
            if len(msg.external_data) or msg.data_location != 0:
                found.append(msg.name)
        for fd, value in msg.ListFields():
            if fd.type == fd.TYPE_MESSAGE:
                for v in (value if fd.is_repeated else [value]):
                    walk(v)

    walk(m)
    return count, found


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {"clean_everywhere": clean_everywhere()}
    count, found = protobuf_view(seeds["clean_everywhere"])
    assert count == 18 and not found, (count, found)
    for p in PLACES:
        seeds["ext_entry_" + p.decode()] = clean_everywhere(PADDED_ZERO + ld(13, ENTRY), p)
        seeds["ext_location_" + p.decode()] = clean_everywhere(num(14, 1), p)
    for name, data in list(seeds.items()):
        if name.startswith("ext_"):
            place = name.split("_", 2)[2].encode()
            assert protobuf_view(data)[1] == [place.decode()], (name, protobuf_view(data))
    # Encodings: what protobuf reads (DEFAULT) and read_header refuses anyway (conservatively).
    enc = {
        "enc_location_above_32_bits": varint(14 << 3) + varint(1 << 32),   # int32 enum: truncated to 0
        "enc_location_unknown_value": num(14, 7),                          # closed enum: kept as unknown
        "enc_location_overwritten": num(14, 1) + num(14, 0),               # last one wins
        "enc_location_packed": ld(14, b"\x01"),                            # wrong wire type: unknown field
    }
    for name, x in enc.items():
        seeds[name] = model(graph(b"g", [ld(5, tensor(b"w", x))]))
        assert protobuf_view(seeds[name]) == (1, []), name
    seeds["enc_location_above_32_bits_low_1"] = model(graph(b"g", [ld(5, tensor(b"w", varint(14 << 3) + varint(1 << 32 | 1)))]))
    assert protobuf_view(seeds["enc_location_above_32_bits_low_1"]) == (1, ["w"])
    # The same attribute field twice: protobuf merges the two tensors into one (external_data appended).
    seeds["enc_attribute_merged"] = model(graph(b"g", [ld(1, node(b"c", [ld(1, b"value") + ld(5, tensor(b"a", num(14, 1)))
                                                                         + ld(5, tensor(b"b", num(14, 0)))]))]))
    assert protobuf_view(seeds["enc_attribute_merged"]) == (1, [])
    # Not UTF-8 where the schema says string: prost refuses, protobuf (proto2) accepts.
    seeds["enc_metadata_not_utf8"] = model(graph(b"g", [ld(5, tensor(b"w"))]), ld(14, ld(1, b"k") + ld(2, b"\xff\xfe")))
    seeds["enc_ext_name_not_utf8"] = model(graph(b"g", [ld(5, tensor(b"\xff", ld(13, ENTRY)))]))
    # Subgraphs 20 levels deep, external at the bottom.
    g = graph(b"deep", [ld(5, tensor(b"deep", num(14, 1)))])
    for _ in range(20):
        g = graph(b"g", [ld(1, node(b"if", [attr(b"then_branch", 6, g)], b"If"))])
    seeds["ext_deep"] = model(g)
    assert protobuf_view(seeds["ext_deep"])[1] == ["deep"]
    # Refused after decoding, on purpose.
    seeds["refuse_ortm"] = num(1, 10) + ld(2, b"ORTM") + ld(7, b"")
    seeds["refuse_no_ir_version"] = ld(7, b"") + ld(8, num(2, 17))
    seeds["refuse_ir_version_0"] = model(b"", ir=0)
    seeds["refuse_no_graph"] = num(1, 10) + ld(8, num(2, 17))
    seeds["refuse_negative_opset"] = model(b"", opset=(1 << 64) - 1)
    for f in os.listdir(OUT):
        if f.endswith(".onnx"):
            os.remove(os.path.join(OUT, f))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
            f.write(data)
    print(f"{len(seeds)} seeds in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
