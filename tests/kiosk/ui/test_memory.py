"""What keeps the touchscreen's memory down (#13): a window without multisample buffers, no second copy of a
drawn text beside its texture, and no second font face for bold text."""

from __future__ import annotations

from kivy.core.text import Label as CoreLabel
from kivy.graphics.opengl import GL_SAMPLES, glGetIntegerv
from ui_helpers import TouchTest

from kiosk.ui.app import build_shell
from kiosk.ui.theme import THEME


class MemoryTest(TouchTest):
    def setUp(self) -> None:
        super().setUp()
        self.Window.size = (800, 600)
        self.shell = build_shell()  # as the kiosk starts
        self.Window.add_widget(self.shell)
        THEME.large = False
        self.advance_frames(1)

    def tearDown(self, fake: bool = False) -> None:
        self.shell.sound.stop_reminder()
        super().tearDown(fake)

    def test_the_window_has_no_multisample_buffers(self) -> None:
        # kiosk.ui.env asks for none: Kivy's default (2, made 4 by llvmpipe) is 15 MiB at 800x600
        self.assertEqual(list(glGetIntegerv(GL_SAMPLES)), [0])

    def test_a_drawn_text_keeps_no_surface_beside_its_texture(self) -> None:
        label = CoreLabel(text="住民票の写し", font_name="KioskJa", font_size=32)
        for text in ("住民票の写し", "印鑑登録証明書"):  # a new text draws again, and lets go again
            label.text = text
            label.refresh()
            pixels = label.texture.pixels  # drawn now (Kivy fills a text's texture when it is first used)
            self.assertTrue(any(pixels[3::4]))  # the glyphs are in the texture
            self.assertIsNone(getattr(label, "_surface", None))

    def test_bold_text_shares_the_regular_face_and_looks_the_same(self) -> None:
        regular, bold = (
            CoreLabel(text="証明書の種類", font_name="KioskJa", font_size=21, bold=flag)
            for flag in (False, True)
        )
        for label in (regular, bold):
            label.refresh()
        # one opened face for both (Kivy's provider keeps one per font id) ...
        self.assertEqual(regular._get_font_id(), bold._get_font_id())
        # ... as the pixels were the same before: the provider never drew bold from a regular-only font
        self.assertEqual(bytes(regular.texture.pixels), bytes(bold.texture.pixels))

    def test_one_size_written_two_ways_shares_one_face(self) -> None:
        # a label holds the theme's first sizes as 16.0 and the same ones set again (after larger text) as 16;
        # the provider opens both at 16 px: one face, not two
        whole, decimal = (
            CoreLabel(text="行政サービス", font_name="KioskJa", font_size=size) for size in (16, 16.0)
        )
        self.assertEqual(whole._get_font_id(), decimal._get_font_id())
        self.assertNotEqual(whole._get_font_id(), CoreLabel(font_name="KioskJa", font_size=17)._get_font_id())
