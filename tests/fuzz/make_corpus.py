#!/usr/bin/env python3
"""Writes the seed corpora of the frame fuzz targets: tests/fuzz/corpus/{frame,pool_reply}.

Each seed is what frame_stream.hpp expects: a byte seeding the read sizes, a byte picking
the reader's payload limit (3: the default 1 GiB; 0: 16 bytes), then the stream a peer
sends. The payloads are cereal's binary encoding, written out by hand here (little-endian,
sizes as u64), of the types frame_fuzz.cpp decodes and of the Pool's reply layout
(detail/pool_task.hpp). Mostly valid frames, so that the fuzzer starts past the header
checks, and a few malformed ones. Run it again after changing the wire format:

    python3 tests/fuzz/make_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
GIB = 1 << 30


def header(n, magic=b"\xb5\x1d", version=1, flags=0):
    return magic + bytes([version, flags]) + struct.pack("<I", n)


def frame(payload):
    return header(len(payload)) + payload


def string(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def size(n):
    return struct.pack("<Q", n)


def seed(stream, chunks=7, limit=3):
    return bytes([chunks, limit]) + stream


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.remove(os.path.join(d, old))
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def frame_seeds():
    point = struct.pack("<i", 3) + struct.pack("<d", 2.5) + string("p") + size(2) + \
        struct.pack("<ii", 4, 5)
    s = {
        "int32": frame(struct.pack("<i", 7)),
        "string": frame(string("hello, frames")),
        "vector_u64": frame(size(3) + struct.pack("<QQQ", 1, 2, 1 << 40)),
        "vector_bool": frame(size(4) + bytes([1, 0, 0, 1])),
        "optional_set": frame(b"\x00" + string("here")),
        "optional_empty": frame(b"\x01"),
        "variant_string": frame(struct.pack("<i", 1) + string("v")),
        "variant_double": frame(struct.pack("<i", 2) + struct.pack("<d", -0.5)),
        "tuple": frame(b"\x01" + struct.pack("<H", 513) + size(2) + string("a") + string("bc")),
        "map": frame(size(2) + string("k1") + struct.pack("<i", 1) + string("k2") +
                     struct.pack("<i", 2)),
        "struct_fields": frame(point),
        "empty_payload": frame(b""),
        "three_frames": frame(struct.pack("<i", 1)) + frame(string("two")) + frame(b""),
        "big_string": frame(string(bytes(range(256)) * 12)),
        # Malformed: what a reader must refuse without allocating what is announced.
        "lying_1gib_header": header(GIB) + b"z" * 16,
        "bad_magic": b"GET / HTTP/1.0\r\n",
        "bad_version": header(1, version=9) + b"x",
        "bad_flags": header(1, flags=0x80) + b"x",
        "truncated_header": header(3)[:5],
        "truncated_payload": header(10) + b"0123",
        "absurd_string_size": frame(b"\xff" * 8),
        "invalid_bool": frame(size(2) + bytes([1, 2])),
        "left_over": frame(string("abc") + b"!!"),
    }
    seeds = {name: seed(data) for name, data in s.items()}
    seeds["oversized_for_16"] = seed(header(100) + b"x" * 20, limit=0)  # the limit is 16
    seeds["three_frames_byte_reads"] = seed(s["three_frames"], chunks=0)
    return seeds


def reply(job, status, body, run_ns=1500):
    return frame(struct.pack("<QBQ", job, status, run_ns) + body)


def pool_reply_seeds():
    # The fuzz target reads an ok reply's body by its id: id % 4 = 0 int, 1 string,
    # 2 a map chunk of doubles, 3 a map chunk of strings; a chunk holds (id >> 2) % 64.
    doubles = reply(2 + 4 * 3, 0, size(3) + struct.pack("<ddd", 1.0, 2.0, 3.5))
    strings = reply(3 + 4 * 2, 0, size(2) + string("x") + string("yz"))
    s = {
        "apply_int": reply(4, 0, struct.pack("<i", 42)),
        "apply_string": reply(5, 0, string("result")),
        "map_doubles": doubles,
        "map_strings": strings,
        "raised": reply(8, 1, string("std::runtime_error") + string("boom")),
        "init_failed": reply(9, 2, string("std::logic_error") + string("bad init")),
        "pipelined": reply(4, 0, struct.pack("<i", 1)) + doubles + strings,
        # Malformed replies: the parent fails the task or buries the worker.
        "unknown_status": reply(4, 7, b""),
        "short_head": frame(struct.pack("<Q", 4) + b"\x00"),
        "wrong_count": reply(2 + 4 * 3, 0, size(5) + struct.pack("<ddd", 1.0, 2.0, 3.5)),
        "absurd_count": reply(3 + 4 * 2, 0, size((1 << 64) - 1)),
        "error_undecodable": reply(8, 1, b"\xff" * 12),
        "huge_run_time": reply(4, 0, struct.pack("<i", 1), run_ns=(1 << 64) - 1),
        "lying_1gib_header": header(GIB) + struct.pack("<QBQ", 4, 0, 1),
    }
    return {name: seed(data) for name, data in s.items()}


if __name__ == "__main__":
    write("frame", frame_seeds())
    write("pool_reply", pool_reply_seeds())
