"""Dynamical systems: forecast a system's time evolution with our GRU / LSTM, and see why gates help.

  python -m apps.dynamics --system lorenz --steps 1000 --plot out.png      continue a held-out trajectory
  python -m apps.dynamics --observations series.csv --steps 200 --csv forecast.csv   your own series
  python -m apps.dynamics train --system lorenz --out runs/lorenz          simulated (--noise 0.01), or
        --data series.csv (columns = variables, rows = steps); --rollout 20 --init-from DIR fine-tunes
        on the model's own closed-loop forecasts
  python -m apps.dynamics eval --model-dir runs/lorenz --plot long-run.png  valid prediction time over 100
        held-out initial conditions, next to persistence, linear autoregression and an echo state network;
        the long-run statistics (Wasserstein distance)
  python -m apps.dynamics export --model-dir runs/lorenz --out exported/   SavedModel: window and horizon in
  python -m apps.dynamics gradients --plot grads.png                       vanishing gradients: a tanh RNN,
        our GRU and LSTM recalling a value across a gap; gradient clipping against explosion

Systems (--system): lorenz (Lorenz-63, RK4), lotka-volterra (predator and prey, RK4), henon (a map).
`--model-dir DIR` uses a model of your own. Run any command with --help for its options.
"""
