/* Private to the net layer: the workspace of a model with an orthogonal
 * W_hh (src/net/orth_ws.c; the maps are src/cells/orth.h). */
#ifndef RL_ORTH_WS_H
#define RL_ORTH_WS_H

#include "cells/orth.h"
#include "net/net.h"

/* The workspace's part (src/net/ws.c calls these): the buffers of an
 * orthogonal model's workspace, remaking W_hh before a forward pass when
 * X or B changed, and dL/dX after a backward pass. */
rl_status rl_orth_ws_alloc(rl_ws *ws, const rl_model *m);
void rl_orth_ws_free(rl_ws *ws);
rl_status rl_orth_sync(rl_ws *ws, const rl_model *m);
rl_status rl_orth_backward(rl_ws *ws, const rl_model *m);

#endif
