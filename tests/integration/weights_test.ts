import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { zipjs } from "../../lib/deps.ts";
import {
  HashMismatchError,
  InvalidArgumentError,
  ModelogError,
  WeightsNotFoundError,
} from "../../lib/errors.ts";
import {
  BlobStore,
  commonBase,
  downloadToCache,
  extractZip,
  fileUriToPath,
  FRAMEWORKS,
  guessFramework,
  isSha256Hex,
  listFolderFiles,
  pathToFileUri,
  sha256File,
  zipFiles,
} from "../../lib/weights/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function sha(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function streamOf(...chunks: (Uint8Array | string)[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((c) => (typeof c === "string" ? enc.encode(c) : c)));
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "modelog_weights_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else out.push(p);
    }
  };
  await walk(dir).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  return out.sort();
}

Deno.test("the same bytes put twice are stored once, under their sha256", async () => {
  await withTempDir(async (dir) => {
    const store = new BlobStore(join(dir, "blobs"));
    const a = join(dir, "a.bin");
    const b = join(dir, "b.bin");
    await Deno.writeTextFile(a, "same weights");
    await Deno.writeTextFile(b, "same weights");
    const ia = await store.putFile(a);
    const ib = await store.putFile(b);
    const is = await store.putStream(streamOf("same ", "weights"));
    assert.equal(ia.hash, sha("same weights"));
    assert.deepEqual(ib, ia);
    assert.deepEqual(is, ia);
    assert.equal(ia.size, 12);
    assert.equal(ia.path, join(dir, "blobs", "sha256", ia.hash.slice(0, 2), ia.hash));
    const stored = await filesUnder(join(dir, "blobs", "sha256"));
    assert.deepEqual(stored, [ia.path]);
    assert.deepEqual(await filesUnder(join(dir, "blobs", "tmp")), []);
    assert.equal(await Deno.readTextFile(ia.path), "same weights");
  });
});

Deno.test("hashes match node:crypto for known bytes, including the empty blob", async () => {
  await withTempDir(async (dir) => {
    const store = new BlobStore(dir);
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 31 + 7) % 256);
    const f = join(dir, "x.bin");
    await Deno.writeFile(f, bytes);
    assert.deepEqual(await sha256File(f), { hash: sha(bytes), size: bytes.length });
    const info = await store.putFile(f);
    assert.equal(info.hash, sha(bytes));
    assert.equal(info.size, 300_000);
    const empty = await store.putStream(streamOf());
    assert.equal(empty.hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal(empty.size, 0);
    assert.equal(await store.has(empty.hash), true);
    assert.deepEqual(await store.stat(info.hash), { size: 300_000 });
  });
});

Deno.test("a 50 MB file is put, hashed and read back streamed, without RSS growing by its size", async () => {
  await withTempDir(async (dir) => {
    // In a process of its own: with --parallel, other test files share this one's RSS.
    const child = new URL("../fixtures/blob_rss_child.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", child, dir],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.equal(out.code, 0);
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    assert.equal(r.info.hash, r.expectedHash);
    assert.equal(r.info.size, r.size);
    assert.deepEqual(r.readBack, { hash: r.expectedHash, size: r.size });
    assert.deepEqual(r.verified, { hash: r.expectedHash, size: r.size });
    assert.ok(r.growth < r.size / 4, `RSS grew by ${r.growth} bytes for a ${r.size} byte file`);
  });
});

Deno.test("putStream with a wrong expected hash throws HashMismatchError and stores nothing", async () => {
  await withTempDir(async (dir) => {
    const store = new BlobStore(dir);
    const wrong = sha("other bytes");
    try {
      await store.putStream(streamOf("real bytes"), wrong);
      assert.fail("expected a HashMismatchError");
    } catch (e) {
      assert.ok(e instanceof HashMismatchError);
      assert.equal(e.expected, wrong);
      assert.equal(e.actual, sha("real bytes"));
      assert.equal(e.code, "HASH_MISMATCH");
    }
    assert.equal(await store.has(sha("real bytes")), false);
    assert.equal(await store.has(wrong), false);
    assert.deepEqual(await filesUnder(join(dir, "sha256")), []);
    assert.deepEqual(await filesUnder(join(dir, "tmp")), []);
    const ok = await store.putStream(streamOf("real bytes"), sha("real bytes"));
    assert.equal(ok.hash, sha("real bytes"));
  });
});

Deno.test("open reads a byte range [start, end) and rejects absent blobs", async () => {
  await withTempDir(async (dir) => {
    const store = new BlobStore(dir);
    const { hash } = await store.putStream(streamOf("0123456789abcdef"));
    assert.equal(dec.decode(await readAll(await store.open(hash))), "0123456789abcdef");
    assert.equal(dec.decode(await readAll(await store.open(hash, 3, 7))), "3456");
    assert.equal(dec.decode(await readAll(await store.open(hash, 10))), "abcdef");
    assert.equal(dec.decode(await readAll(await store.open(hash, 14, 100))), "ef");
    assert.equal(dec.decode(await readAll(await store.open(hash, 5, 5))), "");
    await assert.rejects(() => store.open(hash, 7, 3), InvalidArgumentError);
    await assert.rejects(() => store.open(hash, 17), InvalidArgumentError);
    const s = await store.open(hash, 1);
    await s.cancel();
    await assert.rejects(() => store.open(sha("absent")), WeightsNotFoundError);
  });
});

Deno.test("resumable uploads append pieces at the right offset and commit when the hash matches", async () => {
  await withTempDir(async (dir) => {
    const store = new BlobStore(dir);
    const full = "first piece|second piece";
    const hash = sha(full);
    assert.equal(await store.partialSize(hash), 0);
    assert.equal(await store.appendPartial(hash, 0, streamOf("first ", "piece|")), 12);
    assert.equal(await store.partialSize(hash), 12);
    try {
      await store.appendPartial(hash, 5, streamOf("oops"));
      assert.fail("expected an offset error");
    } catch (e) {
      assert.ok(e instanceof ModelogError);
      assert.equal(e.code, "INVALID_ARGUMENT");
      assert.ok(e instanceof InvalidArgumentError && e.field === "offset");
      assert.match(e.message, /offset/);
    }
    assert.equal(await store.partialSize(hash), 12);
    assert.equal(await store.appendPartial(hash, 12, streamOf("second piece")), full.length);
    assert.equal(await store.has(hash), false);
    const info = await store.commitPartial(hash);
    assert.equal(info.hash, hash);
    assert.equal(info.size, full.length);
    assert.equal(await store.has(hash), true);
    assert.equal(await store.partialSize(hash), 0);
    assert.equal(await Deno.readTextFile(store.pathOf(hash)), full);
    await assert.rejects(() => store.commitPartial(hash), WeightsNotFoundError);
  });
});

Deno.test("committing a partial upload whose bytes differ deletes it and throws HashMismatchError", async () => {
  await withTempDir(async (dir) => {
    const store = new BlobStore(dir);
    const hash = sha("the promised bytes");
    await store.appendPartial(hash, 0, streamOf("something else"));
    await assert.rejects(() => store.commitPartial(hash), (e: unknown) => {
      assert.ok(e instanceof HashMismatchError);
      assert.equal(e.actual, sha("something else"));
      return true;
    });
    assert.equal(await store.partialSize(hash), 0);
    assert.equal(await store.has(hash), false);
    assert.deepEqual(await filesUnder(join(dir, "partial")), []);
  });
});

Deno.test("delete removes a blob and reports whether it existed", async () => {
  await withTempDir(async (dir) => {
    const store = new BlobStore(dir);
    const { hash, path } = await store.putStream(streamOf("to delete"));
    assert.equal(await store.delete(hash), true);
    assert.equal(await store.has(hash), false);
    assert.equal(await store.stat(hash), null);
    await assert.rejects(() => Deno.stat(path), Deno.errors.NotFound);
    assert.equal(await store.delete(hash), false);
  });
});

Deno.test("bad hash strings are rejected with InvalidArgumentError naming the hash", async () => {
  const store = new BlobStore("/nonexistent/modelog/blobs");
  const good = sha("x");
  assert.equal(isSha256Hex(good), true);
  for (const bad of ["", "abc", good.toUpperCase(), good + "0", "g".repeat(64), "../" + good]) {
    assert.equal(isSha256Hex(bad), false, bad);
    assert.throws(() => store.pathOf(bad), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.equal(e.field, "hash");
      assert.equal(e.value, bad);
      return true;
    });
    await assert.rejects(() => store.has(bad), InvalidArgumentError);
    await assert.rejects(() => store.open(bad), InvalidArgumentError);
    await assert.rejects(() => store.delete(bad), InvalidArgumentError);
    await assert.rejects(() => store.partialSize(bad), InvalidArgumentError);
  }
  assert.equal(
    store.pathOf(good),
    join("/nonexistent/modelog/blobs", "sha256", good.slice(0, 2), good),
  );
  await assert.rejects(() => store.putFile("/nonexistent/modelog/file.bin"), WeightsNotFoundError);
  await assert.rejects(() => store.putFile("/"), WeightsNotFoundError);
});

Deno.test("a zipped folder extracts back to the same files, with nested dirs and top-level names", async () => {
  await withTempDir(async (dir) => {
    const src = join(dir, "src");
    await Deno.mkdir(join(src, "sub", "deeper"), { recursive: true });
    const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 7) % 256);
    const files: Record<string, Uint8Array> = {
      "model.pt": big,
      "config.json": enc.encode('{"layers": 3}'),
      "sub/vocab.txt": enc.encode("a\nb\nc\n"),
      "sub/deeper/empty.bin": new Uint8Array(0),
      "with space.txt": enc.encode("spaced"),
    };
    for (const [name, bytes] of Object.entries(files)) await Deno.writeFile(join(src, name), bytes);

    const listed = await listFolderFiles(src);
    assert.deepEqual(listed.map((e) => e.name), [
      "config.json",
      "model.pt",
      "sub/deeper/empty.bin",
      "sub/vocab.txt",
      "with space.txt",
    ]);
    assert.equal(listed[1].path, join(src, "model.pt"));

    const zipPath = join(dir, "out.zip");
    await zipFiles(listed, zipPath);
    const raw = await Deno.readFile(zipPath);
    assert.deepEqual([...raw.subarray(0, 4)], [0x50, 0x4b, 0x03, 0x04]);
    assert.ok(raw.length >= big.length, "STORED entries keep the full size");

    const dest = join(dir, "dest");
    const top = await extractZip(zipPath, dest);
    assert.deepEqual(top, ["config.json", "model.pt", "sub", "with space.txt"]);
    for (const [name, bytes] of Object.entries(files)) {
      assert.equal(sha(await Deno.readFile(join(dest, name))), sha(bytes), name);
    }
    assert.deepEqual((await listFolderFiles(dest)).map((e) => e.name), listed.map((e) => e.name));
    await assert.rejects(() => listFolderFiles(join(dir, "missing")), WeightsNotFoundError);
    await assert.rejects(() => extractZip(join(dir, "missing.zip"), dest), WeightsNotFoundError);
    await assert.rejects(
      () => zipFiles([{ path: join(src, "config.json"), name: "../x" }], join(dir, "bad.zip")),
      InvalidArgumentError,
    );
  });
});

Deno.test("commonBase finds the shared parent folder of files", () => {
  assert.equal(commonBase(["/a/b/x.bin", "/a/b/c/y.bin"]), "/a/b");
  assert.equal(commonBase(["/a/b/x.bin"]), "/a/b");
  assert.equal(commonBase(["/a/b/x.bin", "/a/c/y.bin"]), "/a");
  assert.equal(commonBase(["/a/x.bin", "/b/y.bin"]), "/");
  assert.equal(commonBase(["/a/bc/x", "/a/b/y"]), "/a");
  assert.equal(commonBase(["rel/x.bin"]), join(Deno.cwd(), "rel"));
  assert.throws(() => commonBase([]), InvalidArgumentError);
});

Deno.test("a zip entry escaping the destination (zip-slip) is rejected and nothing is written", async () => {
  await withTempDir(async (dir) => {
    for (const evilName of ["../evil", "ok/../../evil", "/abs/evil"]) {
      const writer = new zipjs.ZipWriter(new zipjs.Uint8ArrayWriter(), { useWebWorkers: false });
      await writer.add("innocent.txt", new zipjs.TextReader("fine"));
      await writer.add(evilName, new zipjs.TextReader("pwned"));
      const bytes = await writer.close();
      const zipPath = join(dir, "evil.zip");
      await Deno.writeFile(zipPath, bytes);
      const dest = join(dir, "dest", "inner");
      await assert.rejects(() => extractZip(zipPath, dest), (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError, String(e));
        assert.equal(e.value, evilName);
        return true;
      });
      assert.deepEqual(await filesUnder(join(dir, "dest")), []);
      await assert.rejects(() => Deno.stat(join(dir, "dest", "evil")), Deno.errors.NotFound);
      await assert.rejects(() => Deno.stat(join(dir, "evil")), Deno.errors.NotFound);
    }
  });
});

Deno.test("framework guessing follows ClearML's suffix table", () => {
  const cases: [string, string | undefined, string | undefined, string][] = [
    ["model.pb", undefined, "TensorFlow", ".pb"],
    ["predict_net.pb", undefined, "TensorFlow", ".pb"],
    ["predict_net.pb", "Caffe2", "Caffe2", "predict_net.pb"],
    ["graph.meta", undefined, "TensorFlow", ".meta"],
    ["graph.PBTXT", undefined, "TensorFlow", ".pbtxt"],
    ["bundle.tar.gz", undefined, "TensorFlow", ".tar.gz"],
    ["bundle.tgz", undefined, "TensorFlow", ".tgz"],
    ["bundle.zip", undefined, "TensorFlow", ".zip"],
    ["web/model.json", undefined, "TensorFlow_js", "model.json"],
    ["m.tflite", undefined, "TensorFlow_Lite", ".tflite"],
    ["Resnet.PTH", undefined, "PyTorch", ".pth"],
    ["net.pt", undefined, "PyTorch", ".pt"],
    ["net.pt", "TorchScript", "TorchScript", ".pt"],
    ["w.caffemodel", undefined, "Caffe", ".caffemodel"],
    ["deploy.prototxt", undefined, "Caffe", ".prototxt"],
    ["m.onnx", undefined, "ONNX", ".onnx"],
    ["m.pb", "ONNX", "ONNX", ".pb"],
    ["w.h5", undefined, "Keras", ".h5"],
    ["w.hdf5", undefined, "Keras", ".hdf5"],
    ["w.keras", undefined, "Keras", ".keras"],
    ["x.model", undefined, "MXNet", ".model"],
    ["x.model", "XGBoost", "XGBoost", ".model"],
    ["net-symbol.json", undefined, "MXNet", "-symbol.json"],
    ["m.cntk", undefined, "CNTK", ".cntk"],
    ["m.t7", undefined, "Torch", ".t7"],
    ["yolo.cfg", undefined, "Darknet", ".cfg"],
    ["dir/__model__", undefined, "PaddlePaddle", "__model__"],
    ["clf.pkl", undefined, "ScikitLearn", ".pkl"],
    ["clf.pkl", "XGBoost", "XGBoost", ".pkl"],
    ["clf.pkl", "MegEngine", "MegEngine", ".pkl"],
    ["t.parquet", undefined, "Parquet", ".parquet"],
    ["m.cbm", undefined, "CatBoost", ".cbm"],
    ["e.plan", undefined, "TensorRT", ".plan"],
    ["weights.bin", undefined, undefined, ".bin"],
    ["README", undefined, undefined, ""],
    ["m.onnx", "PyTorch", "PyTorch", ".onnx"],
    ["m.bin", "MyFramework", "MyFramework", ".bin"],
    ["m.pt", "MyFramework", "MyFramework", ".pt"],
    ["m.xml", "OpenVINO", "OpenVINO", ".xml"],
  ];
  for (const [file, given, framework, ext] of cases) {
    assert.deepEqual(guessFramework(file, given), { framework, ext }, `${file} / ${given}`);
  }
  assert.equal(FRAMEWORKS.length, 22);
  assert.ok(FRAMEWORKS.includes("LightGBM") && FRAMEWORKS.includes("OpenVINO"));
});

Deno.test("file URIs round-trip with spaces and percent escapes", () => {
  const path = "/tmp/my models/ümlaut #1.pt";
  const uri = pathToFileUri(path);
  assert.ok(uri.startsWith("file:///tmp/my%20models/"), uri);
  assert.ok(!uri.includes(" "));
  assert.equal(fileUriToPath(uri), path);
  assert.equal(fileUriToPath("file:///a/b"), "/a/b");
  assert.equal(fileUriToPath("file:///a/my%20model.pt"), "/a/my model.pt");
  assert.equal(fileUriToPath("/plain/path with space"), "/plain/path with space");
  assert.equal(fileUriToPath("relative/p"), "relative/p");
  assert.equal(pathToFileUri("rel/x.bin"), pathToFileUri(join(Deno.cwd(), "rel/x.bin")));
  assert.throws(() => fileUriToPath("file://remotehost/x"), InvalidArgumentError);
});

Deno.test("downloadToCache fetches over HTTP, reuses the cache, re-downloads on force and checks hashes", async () => {
  const body = "remote weights bytes ".repeat(10_000);
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    requests++;
    const url = new URL(req.url);
    if (url.pathname === "/files/model%20v1.onnx") {
      return new Response(streamOf(body.slice(0, 5), body.slice(5)));
    }
    return new Response("nope", { status: 404 });
  });
  try {
    await withTempDir(async (cache) => {
      const base = `http://127.0.0.1:${server.addr.port}`;
      const url = `${base}/files/model%20v1.onnx`;
      const key = sha(url).slice(0, 16);
      const path = await downloadToCache(url, cache);
      assert.equal(path, join(cache, key, "model v1.onnx"));
      assert.equal(await Deno.readTextFile(path), body);
      assert.equal(requests, 1);

      assert.equal(await downloadToCache(url, cache), path);
      assert.equal(requests, 1, "a cached file is reused");

      await Deno.writeTextFile(path, "stale");
      assert.equal(await downloadToCache(url, cache, { force: true }), path);
      assert.equal(requests, 2);
      assert.equal(await Deno.readTextFile(path), body);

      assert.equal(await downloadToCache(url, cache, { expectedHash: sha(body) }), path);
      assert.equal(requests, 2);

      const wrong = sha("not it");
      await assert.rejects(
        () => downloadToCache(url, cache, { force: true, expectedHash: wrong }),
        (e: unknown) => e instanceof HashMismatchError && e.actual === sha(body),
      );
      assert.equal(requests, 3);
      await assert.rejects(() => Deno.stat(path), Deno.errors.NotFound);
      assert.deepEqual(await filesUnder(join(cache, key)), []);

      await assert.rejects(() => downloadToCache(`${base}/missing.pt`, cache), (e: unknown) => {
        assert.ok(e instanceof WeightsNotFoundError);
        assert.equal(e.location, `${base}/missing.pt`);
        assert.match(e.message, /404/);
        return true;
      });
      assert.equal(requests, 4);
      await assert.rejects(() => downloadToCache("ftp://x/y", cache), InvalidArgumentError);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("downloadToCache turns a network error into WeightsNotFoundError keeping the cause", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await withTempDir(async (cache) => {
    await assert.rejects(
      () => downloadToCache(`http://127.0.0.1:${port}/w.pt`, cache),
      (e: unknown) => e instanceof WeightsNotFoundError && e.cause !== undefined,
    );
  });
});
