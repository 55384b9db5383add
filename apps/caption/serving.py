"""The caption SavedModel: encoded image bytes in, caption, score and attention out, CNN and beam search inside.

    image_bytes (B,) JPEG / PNG / GIF / BMP of any size
      -> decode, RGB, resize to S x S (`decode_images`, antialiased)
      -> the frozen CNN (`apps.caption.encoder.build_encoder`): grid (B, gh, gw, C_in)
      -> `ShowAttendTell.encode`, then greedy or beam search over `step` (`apps.common.decoding`)
      -> text (B,), tokens (B, T), score (B,), attention (B, T, L)

Signatures (`SequenceServer`, beam mode): serving_default(image_bytes) with the model's beam, and
generate_with_beam(image_bytes, beam_size); a beam of 1 is greedy search. The CNN's weights are
saved beside the decoder's and restored by TensorFlow alone: the SavedModel runs without our code.
"""

import tensorflow as tf

from apps.caption.encoder import ENCODERS, build_encoder
from apps.common.serving import SequenceServer, capitalize_first

IMAGE_BYTES = tf.TensorSpec([None], tf.string, name="image_bytes")
START, END = "[start]", "[end]"
MAX_CAPTION_TOKENS = 40  # generated words, END included
CLEANUPS = (
    (r" ([.,;:!?)\]])", r"\1"),  # no space before . , ; : ! ? ) ]
    (r"([(\[]) ", r"\1"),  # none after ( [
    (r"(\pL)' (\pL)", r"\1'\2"),  # the tokeniser splits "it's" into "it' s"
    (r"(\pL) - (\pL)", r"\1-\2"),  # "t - shirt" -> "t-shirt"
)


def decode_images(image_bytes, size, antialias=False):
    """Encoded JPEG / PNG / GIF / BMP bytes (B,) -> (B, size, size, 3) float32 in [0, 255].

    Any size and channel count: grey and RGBA become RGB, the image is resized (bilinear,
    aspect ratio not kept, as the CNN encoders were trained). `antialias=True` filters a large
    image before shrinking it, as Pillow's resize does (a photo then gives the grid it gives
    through Pillow); an image already `size` x `size` is unchanged either way.
    """

    def one(data):
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        return tf.image.resize(tf.cast(image, tf.float32), [size, size], antialias=antialias)

    return tf.map_fn(one, image_bytes, fn_output_signature=tf.TensorSpec([size, size, 3], tf.float32))


class CaptionServer(SequenceServer):
    """A `SequenceServer` that keeps the CNN's variables (the `encoder`) beside the decoder's."""

    def __init__(self, model, encoder, *args, **kwargs):
        super().__init__(model, *args, preprocess_layers=[encoder], **kwargs)
        # As `model_variables`: TF1-style loaders (saved_model_cli, TF Serving) restore what is tracked.
        self.encoder_variables = [getattr(v, "value", v) for v in encoder.variables]


def at_least_one_word(end_id):
    """A `SequenceServer` `constrain_step`: END is not allowed as the first word (index 0 reads [start]).

    Every training caption has a word, but a weakly trained model can give [end] first the
    highest score of all finished hypotheses (one small probability against a product of
    several), and answer an empty caption.
    """

    def constrain(step, constants, step_inputs):
        def first_word_step(tokens, state, constants, index):
            logits, state, outputs = step(tokens, state, constants, index)
            is_end = tf.equal(tf.range(tf.shape(logits)[-1]), end_id)[None]  # (1, V)
            banned = tf.logical_and(is_end, tf.equal(index, 0))
            return tf.where(banned, tf.cast(-1e9, logits.dtype), logits), state, outputs

        return first_word_step, constants

    return constrain


def caption_server(model, vocabulary, beam_size, length_penalty, suppressed_ids):
    """The SavedModel's module for a `ShowAttendTell` model and its word vocabulary."""
    size = ENCODERS[model.encoder].image_size
    encoder = build_encoder(model.encoder, model.fine_tune_blocks)
    start_id = vocabulary.index(START)

    def preprocess(image_bytes):
        images = decode_images(image_bytes, size, antialias=True)  # (B, S, S, 3) in [0, 255]
        batch = tf.shape(image_bytes)[:1]
        return {
            "inputs": encoder(images, training=False),  # (B, gh, gw, C_in)
            "prompt": tf.fill(tf.concat([batch, [1]], 0), start_id),
            "prompt_lengths": tf.ones(batch, tf.int32),
            "max_lengths": tf.fill(batch, MAX_CAPTION_TOKENS),
            "is_empty": tf.zeros(batch, tf.bool),
        }

    end_id = vocabulary.index(END)
    return CaptionServer(
        model, encoder, preprocess, vocabulary, end_id=end_id, input_spec=IMAGE_BYTES,
        cleanups=CLEANUPS, postprocess=capitalize_first, beam_size=beam_size, length_penalty=length_penalty,
        suppressed_ids=suppressed_ids, constrain_step=at_least_one_word(end_id),
    )
