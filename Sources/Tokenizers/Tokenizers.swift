// Tokenizers: tiktoken and byte-level BPE tokenizers, chat formats, streaming decode.
