"""Lecture 001: update rules of the linear model and the sigmoid perceptron over a data set."""
import symgrad
from symgrad import losses, networks

linear = networks.perceptron(indexed=True, activation_function=None, loss=losses.squared_error)
print(linear)
print(symgrad.update_rules(linear))  # the slide: w_j <- w_j + 2 eta sum_k delta_k x_kj
print()

sigmoid_perceptron = networks.perceptron(indexed=True, loss=losses.squared_error)
print(sigmoid_perceptron)
print(symgrad.update_rules(sigmoid_perceptron))  # + 2 eta sum_i delta_i sigma_i (1 - sigma_i) x_ij
