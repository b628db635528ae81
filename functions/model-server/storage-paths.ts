import { ModelLoadError } from './errors.ts';

/** A URI fit for logs and error messages: no userinfo, no query (presigned URLs carry signatures there). */
export function redactUri(uri: string): string {
  try {
    const u = new URL(uri);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return uri.replace(/\/\/[^/@]*@/, '//').replace(/\?.*$/, '');
  }
}

/** Picks the model among a directory's entries; `where` names the directory in messages. */
export function pickOnnx(names: readonly string[], where: string): string {
  const onnx = names.filter((n) => n.toLowerCase().endsWith('.onnx'));
  if (onnx.length === 1) return onnx[0]!;
  if (onnx.length === 0) throw new ModelLoadError(`no .onnx file in ${where}`);
  if (onnx.includes('model.onnx')) return 'model.onnx';
  throw new ModelLoadError(`${onnx.length} .onnx files in ${where} (${onnx.join(', ')}) and none is model.onnx`);
}
