/**
 * Error codes of the model tooling and the gateway's model loader. Code branches on `code`,
 * never on message text; the message names what was wrong for a human.
 */
export type ModelErrorCode =
  | 'MODEL_READ_FAILED' // the file could not be read or is not a decodable ONNX ModelProto
  | 'MODEL_CONTRACT_VIOLATION' // the file decodes but breaks docs/model-contract.md
  | 'MODEL_SESSION_FAILED' // onnxruntime refused the model
  | 'MODEL_SESSION_MISMATCH' // onnxruntime sees different input/output names than the contract
  | 'DATA_INVALID' // a CSV or argument the trainer was given is unusable
  | 'TRAINING_FAILED' // the data is valid but too small / degenerate to fit
  | 'SELF_CHECK_FAILED'; // the trainer's own output is wrong: the written graph breaks the contract or differs from the reference (a bug, not the input)

export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    /** Individual problems (e.g. every contract violation), when there is more than one. */
    readonly problems: string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
