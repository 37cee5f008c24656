#!/bin/sh
# Redraws the pictures in docs/img from a build in ./build:
#   sh docs/img/make.sh
# Every picture is rendered in-process by recur (no `dot` executable).
set -e
R=./build/recur
D=docs/img
$R dot --cell lstm --units 3 --input 2 --steps 4 --level op -o $D/lstm_unrolled_op.svg
$R dot --cell lstm --units 3 --input 2 --steps 4 --level cell -o $D/lstm_unrolled_cell.svg
$R dot --cell lstm --units 3 --input 2 --steps 4 --level layer --gradients -o $D/lstm_layer.svg
$R dot --cell gru --units 3 --input 2 --steps 3 --level cell --gradients -o $D/gru_gradients.svg
$R dot --cell gru --units 3 --input 2 --steps 3 --level op --grad-of recurrent_kernel -o $D/gru_grad_of_recurrent_kernel.svg
$R dot --cell lstm --units 3 --input 2 --steps 3 --level cell --bidirectional -o $D/bidirectional_lstm.svg
$R dot --cell simple --units 3 --input 2 --steps 12 --steps-shown 2 --level cell --gradients -o $D/simple_rnn_steps_shown.svg
./build/examples/user_cell $D/user_cell_mgu.svg cell > /dev/null
$R dot --cell lstm --units 8 --input 4 --steps 3 --level op --gradients -o $D/lstm_gradients_op.svg
$R dot tests/golden/models/gru_lstm_dense/model.keras --level layer -o $D/model_layer.svg
