"""The captioning decoder's variants, named once for the model and the command line.

Kept free of Keras so that `--help` and argument parsing do not import it. The first choice
of each option is the paper's (Xu et al. 2015) and the default.
"""

DECODER_OPTIONS = {
    # where h_0, c_0 come from
    "initial_state": ("mean", "zeros"),
    # the attention of word t reads h_{t-1} (Xu et al.) or h_t, after reading word t-1 (Luong et al.)
    "attention_query": ("previous", "current"),
    # what the LSTM reads each step
    "lstm_input": ("word_and_context", "word"),
}
INITIAL_STATES = DECODER_OPTIONS["initial_state"]
ATTENTION_QUERIES = DECODER_OPTIONS["attention_query"]
LSTM_INPUTS = DECODER_OPTIONS["lstm_input"]


def non_default_options(values):
    """The options of `values` (name -> choice) that differ from the paper's, for a model's config."""
    return {name: values[name] for name, choices in DECODER_OPTIONS.items() if values[name] != choices[0]}
