from datasets.help_pages import DOCBOOK_BLOCKS, paired_blocks

MALLARD = '<page xmlns="http://projectmallard.org/1.0/" id="wifi">{}</page>'
ENGLISH = MALLARD.format(
    '<info><link type="guide" xref="net"/><desc>Get online without wires.</desc></info>'
    '<title>Connect to a wireless network</title>'
    '<p>Open <guiseq><gui>Settings</gui><gui>Wi-Fi</gui></guiseq> and press <keyseq><key>Ctrl</key>'
    '<key>R</key></keyseq> to <em>refresh</em>.</p>'
    '<p>See <link xref="net-wireless-hidden"/> for hidden networks.</p>')
FRENCH = MALLARD.format(
    '<info><link type="guide" xref="net"/><desc>Se connecter sans fil.</desc></info>'
    '<title>Connexion à un réseau sans fil</title>'
    '<p>Ouvrez <guiseq><gui>Paramètres</gui><gui>Wi-Fi</gui></guiseq> et appuyez sur <keyseq><key>Ctrl</key>'
    '<key>R</key></keyseq> pour <em>actualiser</em>.</p>'
    '<p>Consultez <link xref="net-wireless-hidden"/> pour les réseaux masqués.</p>')


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_blocks_pair_in_order_as_the_viewer_shows_them(tmp_path):
    pairs = paired_blocks(write(tmp_path, "en.page", ENGLISH), write(tmp_path, "fr.page", FRENCH))
    assert pairs == [
        ("Get online without wires.", "Se connecter sans fil."),
        ("Connect to a wireless network", "Connexion à un réseau sans fil"),
        ("Open Settings \u25b8 Wi-Fi and press Ctrl+R to refresh.",
         "Ouvrez Paramètres \u25b8 Wi-Fi et appuyez sur Ctrl+R pour actualiser."),
    ]  # the paragraph with an empty <link/> has a hole once stripped: left out


def test_a_page_with_another_structure_gives_nothing(tmp_path):
    outdated = FRENCH.replace("<title>", "<p>Un paragraphe de plus.</p><title>")
    assert paired_blocks(write(tmp_path, "en.page", ENGLISH), write(tmp_path, "fr.page", outdated)) == []


def test_a_page_that_is_not_xml_gives_nothing(tmp_path):
    broken = "<page><p>Uses an entity &app; defined elsewhere.</p></page>"
    assert paired_blocks(write(tmp_path, "en.page", ENGLISH), write(tmp_path, "fr.page", broken)) == []


def test_docbook_nested_blocks_stay_apart(tmp_path):
    english = ("<chapter><title>Menus</title><para>Choose <menuchoice><guimenu>File</guimenu><guimenuitem>Open"
               "</guimenuitem></menuchoice>:<itemizedlist><listitem><para>a file.</para></listitem></itemizedlist>"
               "</para></chapter>")
    french = ("<chapter><title>Menus</title><para>Choisissez <menuchoice><guimenu>Fichier</guimenu><guimenuitem>"
              "Ouvrir</guimenuitem></menuchoice> :<itemizedlist><listitem><para>un fichier.</para></listitem>"
              "</itemizedlist></para></chapter>")
    pairs = paired_blocks(write(tmp_path, "en.xml", english), write(tmp_path, "fr.xml", french), DOCBOOK_BLOCKS)
    assert pairs == [("Menus", "Menus"), ("Choose File \u25b8 Open:", "Choisissez Fichier \u25b8 Ouvrir :"),
                     ("a file.", "un fichier.")]
