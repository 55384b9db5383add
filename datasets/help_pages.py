"""English -> French pairs from translated help pages (Mallard .page, DocBook .xml).

GNOME-style help ships each page twice, `help/C/<doc>/<page>` in English and `help/fr/<doc>/<page>`
made from it by the translators' tool (itstool), which translates every text block in place and
leaves the markup alone. So the two files have the same blocks in the same order, and the n-th
paragraph of one translates the n-th of the other. A page whose translation is out of date has a
different block structure; it is skipped whole rather than risk misaligned pairs.

A block's text is its text with the inline markup (<gui>, <em>, <link>...) stripped, written the
way the help viewer shows it: a key sequence (<keyseq>, DocBook <keycombo>) as "Ctrl+Alt+T", a
menu path (<guiseq>, <menuchoice>) as "Settings ▸ Color". A block nested in another (a list inside
a DocBook paragraph) is a block of its own, not part of the outer text. A block with an empty
inline element, such as <link xref="..."/> (shown as the linked page's title) or an inline
<media> icon, has a hole in its sentence once stripped, and is left out.

Example:
    >>> paired_blocks("C/gnome-help/net-wireless-connect.page", "fr/gnome-help/net-wireless-connect.page")[:2]
    [('Get on the internet — wirelessly.', 'Aller sur Internet — sans fil.'),
     ('Connect to a wireless network', 'Connexion à un réseau sans fil')]
"""

import re
import xml.etree.ElementTree as ElementTree

MALLARD_BLOCKS = frozenset({"p", "title", "desc"})
DOCBOOK_BLOCKS = frozenset({"para", "simpara", "title", "term"})
# How the help viewers (yelp) join the parts of a sequence.
_SEPARATORS = {"keyseq": "+", "keycombo": "+", "guiseq": " \u25b8 ", "menuchoice": " \u25b8 "}
_SPACE = re.compile(r"\s+")


def paired_blocks(english_path, french_path, blocks=MALLARD_BLOCKS):
    """Pairs the text blocks of a help page with those of its translation.

    Args:
        english_path: path-like, the English (C) page.
        french_path: path-like, the French page.
        blocks: set of str, the block element names (without namespace); default
            `MALLARD_BLOCKS`, `DOCBOOK_BLOCKS` for DocBook.

    Returns:
        list of (english, french) str tuples, in page order; [] when either file is not
        well-formed XML (e.g. it uses entities defined in another file) or the two pages do not
        have the same blocks.
    """
    english, french = page_blocks(english_path, blocks), page_blocks(french_path, blocks)
    if english is None or french is None or [b[0] for b in english] != [b[0] for b in french]:
        return []
    return [(e, f) for (_, e), (_, f) in zip(english, french, strict=True) if e is not None and f is not None]


def page_blocks(path, blocks=MALLARD_BLOCKS):
    """The page's blocks as [(element name, text or None for a block with a hole)] in page
    order, or None when the file is not well-formed XML."""
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError:
        return None
    found = []
    for element in root.iter():
        name = _local_name(element)
        if name in blocks:
            text = _text(element, blocks)
            found.append((name, None if text is None else _SPACE.sub(" ", text).strip()))
    return found


def _text(element, blocks):
    """The text of `element` without nested blocks, or None when an inline element is empty."""
    separator = _SEPARATORS.get(_local_name(element))
    if separator is not None:
        parts = [_text(child, blocks) for child in element]
        return None if None in parts else separator.join(p.strip() for p in parts)
    parts = [element.text or ""]
    for child in element:
        if _local_name(child) not in blocks:
            if len(child) == 0 and not (child.text or "").strip():
                return None
            parts.append(_text(child, blocks))
            if parts[-1] is None:
                return None
        parts.append(child.tail or "")
    return "".join(parts)


def _local_name(element):
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else None
