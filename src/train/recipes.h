/* Private to the library: a recipe's record for a run folder
 * (src/train/recipes.c; the table itself is public, include/rnnlab.h). */
#ifndef RL_RECIPES_H
#define RL_RECIPES_H

#include "base/internal.h"

#include <cJSON.h>

/* The recipes in the table (the option's values are none and these). */
#define RL_NUM_RECIPES 11

/* RUN/recipe.json of a run with c->recipe > 0: the recipe, its paper and
 * code, the task and T, each setting that holds for them (key, the recipe's
 * value, the value the run used, its source), the keys the run's own
 * options overrode, and the gaps. NULL for no recipe or out of memory. */
cJSON *rl_recipe_json(const rl_train_config *c);

#endif
