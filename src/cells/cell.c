/* The cell table: one row per kind of cell, each filled by its own file. */
#include "cells/cell.h"

/* each defined in its own src/cell_*.c */
extern const rl_cell_desc rl_cell_tanh, rl_cell_relu, rl_cell_linear, rl_cell_lstm, rl_cell_gru, rl_cell_leaky,
    rl_cell_indrnn, rl_cell_mingru, rl_cell_minlstm, rl_cell_lru, rl_cell_modrelu;

static const rl_cell_desc *const table[RL_CELL_COUNT] = {
    [RL_CELL_TANH] = &rl_cell_tanh,
    [RL_CELL_RELU] = &rl_cell_relu,
    [RL_CELL_LINEAR] = &rl_cell_linear,
    [RL_CELL_LSTM] = &rl_cell_lstm,
    [RL_CELL_GRU] = &rl_cell_gru,
    [RL_CELL_LEAKY] = &rl_cell_leaky,
    [RL_CELL_INDRNN] = &rl_cell_indrnn,
    [RL_CELL_MINGRU] = &rl_cell_mingru,
    [RL_CELL_MINLSTM] = &rl_cell_minlstm,
    [RL_CELL_LRU] = &rl_cell_lru,
    [RL_CELL_MODRELU] = &rl_cell_modrelu,
};

const rl_cell_desc *rl_cell_desc_of(rl_cell c)
{
    RL_ASSERT((unsigned)c < RL_CELL_COUNT && table[c] && table[c]->id == c);
    return table[c];
}

const char *rl_cell_name(rl_cell c) { return (unsigned)c < RL_CELL_COUNT ? table[c]->name : NULL; }
int rl_cell_gates(rl_cell c) { return rl_cell_desc_of(c)->gates; }
int rl_cell_states(rl_cell c) { return rl_cell_desc_of(c)->states; }
int rl_cell_has_forget_gate(rl_cell c) { return rl_cell_desc_of(c)->forget_gate >= 0; }
const char *rl_cell_equation(rl_cell c) { return (unsigned)c < RL_CELL_COUNT ? table[c]->equation : NULL; }

/* the names of the table's rows, as an rl_names table (filled when the library loads) */
static const char *cell_names[RL_CELL_COUNT];
__attribute__((constructor)) static void name_cells(void)
{
    for (int i = 0; i < RL_CELL_COUNT; i++) cell_names[i] = table[i]->name;
}
const rl_names rl_cell_names = {"cell", RL_CELL_COUNT, cell_names};

rl_status rl_cell_parse(const char *name, rl_cell *out)
{
    _Static_assert(sizeof(rl_cell) == sizeof(int), "enum size");
    return rl_names_parse(&rl_cell_names, name, (int *)out);
}
