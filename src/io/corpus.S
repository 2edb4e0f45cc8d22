/* The built-in text corpus (data/pride_and_prejudice.txt), embedded in the
 * library; data/README.md says what it is. */
    .section .rodata
    .global rl_corpus_data
    .global rl_corpus_size
    .balign 16
rl_corpus_data:
    .incbin "data/pride_and_prejudice.txt"
rl_corpus_end:
    .byte 0
    .balign 8
rl_corpus_size:
    .quad rl_corpus_end - rl_corpus_data
    .section .note.GNU-stack,"",@progbits
