/**
 * Guessing a model's framework from its weights file name, with ClearML's semantics.
 *
 * @module
 */

/** The frameworks ClearML knows, spelled as ClearML spells them. */
export const FRAMEWORKS: readonly string[] = Object.freeze([
  "TensorFlow",
  "TensorFlow_js",
  "TensorFlow_Lite",
  "PyTorch",
  "TorchScript",
  "Caffe",
  "Caffe2",
  "ONNX",
  "Keras",
  "MXNet",
  "CNTK",
  "Torch",
  "Darknet",
  "PaddlePaddle",
  "ScikitLearn",
  "XGBoost",
  "LightGBM",
  "Parquet",
  "MegEngine",
  "CatBoost",
  "TensorRT",
  "OpenVINO",
]);

/**
 * File-name suffixes (lowercase) and the frameworks that use them, in ClearML's order. The first
 * framework of a suffix is the guess when no framework is given; because `.pb` comes before
 * `predict_net.pb`, Caffe2 is only matched when asked for.
 */
const SUFFIXES: readonly (readonly [string, readonly string[]])[] = [
  [".pb", ["TensorFlow", "TensorFlow_js", "ONNX"]],
  [".meta", ["TensorFlow"]],
  [".pbtxt", ["TensorFlow", "ONNX"]],
  [".zip", ["TensorFlow"]],
  [".tgz", ["TensorFlow"]],
  [".tar.gz", ["TensorFlow"]],
  ["model.json", ["TensorFlow_js"]],
  [".tflite", ["TensorFlow_Lite"]],
  [".pth", ["PyTorch"]],
  [".pt", ["PyTorch"]],
  [".caffemodel", ["Caffe"]],
  [".prototxt", ["Caffe"]],
  ["predict_net.pb", ["Caffe2"]],
  ["predict_net.pbtxt", ["Caffe2"]],
  [".onnx", ["ONNX"]],
  [".h5", ["Keras"]],
  [".hdf5", ["Keras"]],
  [".keras", ["Keras"]],
  [".model", ["MXNet", "CNTK", "XGBoost"]],
  ["-symbol.json", ["MXNet"]],
  [".cntk", ["CNTK"]],
  [".t7", ["Torch"]],
  [".cfg", ["Darknet"]],
  ["__model__", ["PaddlePaddle"]],
  [".pkl", ["ScikitLearn", "Keras", "XGBoost", "MegEngine"]],
  [".parquet", ["Parquet"]],
  [".cbm", ["CatBoost"]],
  [".plan", ["TensorRT"]],
];

/** The canonical spelling of a known framework name (case-insensitive), or undefined. */
function canonicalFramework(name: string): string | undefined {
  const lower = name.toLowerCase();
  return FRAMEWORKS.find((f) => f.toLowerCase() === lower);
}

/**
 * Guesses the framework of a weights file from its name (case-insensitive suffix match), as
 * ClearML does.
 *
 * - No framework given: the first framework of the first matching suffix wins.
 * - A known framework given (case-insensitive): only that framework's suffixes count; the
 *   framework is returned as given.
 * - Otherwise (no match, or a free-text framework): the framework is returned as given and
 *   `ext` is the text from the last dot of the file name, lowercased (`""` without a dot).
 *
 * @example
 * ```ts
 * import { guessFramework } from "./framework.ts";
 * guessFramework("resnet.pth"); // { framework: "PyTorch", ext: ".pth" }
 * guessFramework("model.pkl", "XGBoost"); // { framework: "XGBoost", ext: ".pkl" }
 * ```
 * @param filename the file name or path
 * @param framework the framework the caller already knows, if any
 * @returns the framework (or undefined) and the matched extension
 */
export function guessFramework(
  filename: string,
  framework?: string,
): { framework: string | undefined; ext: string } {
  const name = filename.toLowerCase();
  const given = framework === undefined || framework === "" ? undefined : framework;
  if (given === undefined) {
    for (const [suffix, fws] of SUFFIXES) {
      if (name.endsWith(suffix)) return { framework: fws[0], ext: suffix };
    }
  } else {
    const known = canonicalFramework(given);
    if (known !== undefined) {
      for (const [suffix, fws] of SUFFIXES) {
        if (fws.includes(known) && name.endsWith(suffix)) return { framework: given, ext: suffix };
      }
    }
  }
  const base = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  const dot = base.lastIndexOf(".");
  return { framework: given, ext: dot >= 0 ? base.slice(dot) : "" };
}
