"""English->French translation: attention-GRU and Transformer, beam search, BLEU, export."""
