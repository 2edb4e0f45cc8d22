/* The independently recurrent cell, IndRNN (Li et al. 2018):
 *   h_t = relu(W_ih x_t + b_ih + u * h_{t-1} + b_hh),
 * the recurrent weight a vector u (H), stored as rnn.weight_hh_l{k} with
 * shape (H). Each unit feeds back only to itself, so the step Jacobian is
 * diagonal, J_t = diag(relu'(a_t) u), and the gradient over k steps is
 * prod relu' u^k per unit: bounding |u| <= 2^{1/T} (rnnlab train clips it
 * after every update, --recurrent-max) keeps it from exploding over T steps.
 * The step itself is the ReLU cell's (src/cell_rnn.c): the time loop adds
 * the diagonal product u * h_{t-1} (a row with recur = RL_RECUR_DIAG) and
 * gets dL/du and the direct dL/dh_{t-1} = u dL/da_t. This file is the row. */
#include "cells/cell_real.h"

RL_CELL_ROW(indrnn, RL_CELL_INDRNN, relu,
            .equation = "h_t = relu(W_ih x_t + b_ih + u * h_{t-1} + b_hh), u = weight_hh (H) (Li et al. 2018)",
            .gates = 1, .hh_gates = 1, .recur = RL_RECUR_DIAG,
            RL_PARAMS({"rnn.weight_ih_l%d", RL_W_IH, 1, RL_DIM_HIDDEN, RL_DIM_INPUT, RL_DIM_HIDDEN},
                      {"rnn.weight_hh_l%d", RL_W_HH, 1, RL_DIM_HIDDEN, RL_DIM_NONE, RL_DIM_HIDDEN},
                      {"rnn.bias_ih_l%d", RL_B_IH, 1, RL_DIM_HIDDEN, RL_DIM_NONE, RL_DIM_HIDDEN},
                      {"rnn.bias_hh_l%d", RL_B_HH, 1, RL_DIM_HIDDEN, RL_DIM_NONE, RL_DIM_HIDDEN}),
            .states = 1, .relu = 1,
            RL_GATES(-1, -1, -1));
