"""Prepare Multi30k (mirror or download, checksums, tokenizer, encoding); prints the seconds taken.

    python scripts/prepare_multi30k.py [overrides, e.g. data.src_lang=en data.tgt_lang=de]

The same as `seq2seq-prepare`; the tokenizer is cached under data/ and reused by seq2seq-train.
"""

from seq2seq.prepare import main

if __name__ == "__main__":
    main()
