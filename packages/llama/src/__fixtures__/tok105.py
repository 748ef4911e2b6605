"""Makes tok105.json: the reference encodings of babyllama128's tokenizer (../shared/models/babyllama128/
tok105.model) by the SentencePiece library itself (Debian python3-sentencepiece 0.1.97), for
tokenizer/llama2c.test.ts. Run: /usr/bin/python3 tok105.py [path/to/tok105.model] > tok105.json
"""
import json
import sys

import sentencepiece as spm

model = sys.argv[1] if len(sys.argv) > 1 else '../../../../../shared/models/babyllama128/tok105.model'
sp = spm.SentencePieceProcessor(model_file=model)
texts = [
    'Once upon a time',
    'Lily said: "Hi!" (2 apples, 3 pears).',
    'héllo 漢字漢 world!',
    'a\U0001F600\U0001F600b',
    'x\tq',
    'line one\nline two',
    '  two  spaces ',
    ' ',
    '',
    'Café — naïve façade',
    '\u00e9\u0301',
    'Item 12 | Beauty > Skin Care [SPF 30] ~ $9.99 & more',
    'ÀÉÎ',
]
cases = []
for t in texts:
    ids = sp.encode(t)
    cases.append({'text': t, 'ids': ids, 'decoded': sp.decode(ids)})
json.dump(
    {
        'model': 'tok105.model',
        'library': 'sentencepiece ' + spm.__version__,
        # The model's trainer_spec.unk_surface (proto field 44) is the literal text ' \\342\\201\\207 '
        # (llama2.c's training script passed the octal escapes through), so that is what decode gives.
        'cases': cases,
    },
    sys.stdout,
    ensure_ascii=False,
    indent=1,
)
print()
