/** Where Debian's pocketsphinx packages put the decoder and the US English model, and how to tell they are there. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const POCKETSPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
export const POCKETSPHINX_SAMPLE_RATE = 16000;
export const POCKETSPHINX_INSTALL_HINT =
  'pocketsphinx is not installed: run "sudo apt-get install -y pocketsphinx pocketsphinx-en-us" (npm start installs it), then retry';

const accessible = (path: string, mode: number): boolean => {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
};

const onPath = (command: string): boolean => {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  return candidates.some((path) => accessible(path, constants.X_OK));
};

/** The binary and the model files are both present. */
export const pocketsphinxInstalled = (command: string, modelDir: string): boolean =>
  onPath(command) && ['en-us/mdef', 'en-us.lm.bin', 'cmudict-en-us.dict'].every((file) => accessible(join(modelDir, file), constants.R_OK));
