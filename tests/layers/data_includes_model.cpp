// Compiled by the `layers_*` tests with only the data layer linked: the data layer
// must not see the models layer's headers, so this file must not compile.
#include "automl/model.h"

int data_layer_probe() { return 0; }
