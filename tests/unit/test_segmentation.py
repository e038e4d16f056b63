"""Unit tests for rule-based story segmentation (no database, no clock)."""
from __future__ import annotations

import random

import pytest

from domain.errors import EmptyStory, ValidationProblem
from domain.segmentation import check_scene_text, normalise, segment

CHINESE_STORY = """\
第一章　燈塔

阿海十二歲那年的夏天，第一次跟著外公上了燈塔。那座燈塔立在澎湖最北邊的小島上，白色的塔身被海風吹得斑駁，鐵梯一踩就發出吱吱的聲音。外公說，這座燈塔已經亮了一百二十年，從清朝一直亮到現在，從來沒有哪一個晚上熄過。阿海不太相信，他問外公：「颱風來的時候也不熄嗎？」外公笑了笑，沒有回答，只是把手上的油燈遞給他，要他小心腳下的台階。塔頂的風很大，阿海緊緊抓著欄杆，看見遠方的海面上有幾艘漁船正慢慢地回港，船上的燈一閃一閃，像是在跟燈塔打招呼。

「你看，那些船都在等我們。」外公指著海面說。

阿海點點頭。

那天晚上，外公教他怎麼擦拭透鏡、怎麼檢查燈泡、怎麼記錄每一個小時的天氣。透鏡是一整塊厚重的玻璃，被切割成一圈一圈的稜紋，外公說這叫做菲涅耳透鏡，可以把一盞小小的燈變成二十海里外都看得見的光。阿海拿著軟布，一圈一圈地擦，擦到手臂都酸了，玻璃上才終於看不見任何一點鹽霜。外公在旁邊的小桌子上寫日誌，字跡工整得像是印刷出來的一樣。每寫完一行，他就抬頭看一眼窗外的海，好像在確認海還在那裡。

半夜兩點，無線電突然響了起來。一艘叫做「金福號」的漁船在北方三海里的地方失去了動力，船上有五個人，海象越來越差，浪高已經超過三米。外公放下筆，拿起無線電，用很慢很穩的聲音跟船長說話。他告訴船長：不要慌，把船頭對準燈塔的光，讓錨拖在後面，慢慢地漂過來；海巡的船已經出發了，最多一個小時就會到。阿海站在旁邊，聽得心臟砰砰直跳，他從來沒有想過，一盞燈可以是這麼多人的希望。

那一個小時，是阿海這輩子最長的一個小時。

他和外公輪流守在窗邊，看著黑暗的海面。風越來越大，雨點打在玻璃上像是有人在敲門。有好幾次，阿海以為自己看見了金福號的燈，但仔細一看，又只是浪花反射的光。外公一直沒有坐下來，他的手一直放在燈的開關旁邊，好像隨時準備讓燈更亮一點。終於，在三點零五分的時候，無線電裡傳來船長沙啞的聲音：「看到海巡了！看到海巡了！」阿海忍不住跳了起來，外公卻只是輕輕地吐了一口氣，然後轉身在日誌上寫下：三時零五分，金福號獲救，五人平安。

天亮以後，阿海問外公：「你怕不怕？」

外公想了很久，才說：「怕啊，怎麼會不怕。可是燈塔上的人不能怕，因為海上的人會看著我們。只要燈還亮著，他們就知道回家的路在哪裡。」阿海把這句話記在心裡，記了很多很多年。後來，燈塔改成了自動化，再也不需要有人守夜；外公也搬回了馬公，在巷口開了一家小小的雜貨店。但是每年夏天，阿海都會回到那座小島，爬上吱吱作響的鐵梯，在塔頂坐一個晚上，看著那道光一圈一圈地掃過海面，就像外公當年一樣。
"""

ENGLISH_STORY = """\
The Lighthouse Keeper's Apprentice

The summer Maya turned twelve, her grandfather finally let her climb the lighthouse with him. It stood at the very tip of the northern island, a white tower streaked grey by a century of salt wind, and every step of its iron stair groaned under their feet. Her grandfather told her that the light had burned every single night for a hundred and twenty years. "Not even during typhoons?" she asked. He only smiled, handed her the oil lamp, and told her to mind the steps.

"Look," he said at the top, pointing at the sea. "They're all waiting for us."

Maya nodded.

That night he taught her how to polish the lens, how to test the bulb, and how to log the weather every hour. The lens was a single heavy piece of glass cut into rings of ridges; he called it a Fresnel lens, and said it could turn a small lamp into a light you could see twenty nautical miles away. Maya rubbed it with a soft cloth, ring after ring, until her arms ached and not a speck of salt remained. Her grandfather sat at the little desk and wrote in the logbook, his handwriting as neat as print. After every line he looked up at the window, as if to make sure the sea was still there.

At two in the morning the radio crackled to life. A fishing boat called the Golden Luck had lost power three miles to the north, with five people aboard, and the waves were already higher than three metres. Her grandfather put down his pen, picked up the handset, and spoke to the captain in a slow, steady voice. Don't panic, he said; keep your bow on our light, let the anchor drag behind you, and drift towards us; the coast guard is on its way and will be there within the hour. Maya stood beside him. She had never imagined that a single lamp could carry so many people's hope.

It was the longest hour of her life.

They took turns at the window, staring into the black water. The wind rose and the rain drummed on the glass like someone knocking to be let in. More than once Maya thought she saw the Golden Luck, but each time it was only foam catching the beam. Her grandfather never sat down; his hand stayed near the switch, as if ready to make the light burn brighter. At last, at five past three, the captain's hoarse voice came over the radio: "We see the coast guard! We see them!" Maya jumped up and cheered, while her grandfather only let out a long breath and wrote in the logbook: 03:05, Golden Luck recovered, five souls safe.

When the sun came up, Maya asked him whether he had been afraid. "Of course I was," he said at last. "But the people up here can't be afraid, because the people out there are watching us. As long as the light is on, they know the way home." Years later the lighthouse was automated and nobody kept watch any more, and her grandfather moved back to town to run a small corner shop. But every summer Maya went back to the island, climbed the groaning stair, and sat at the top all night, watching the beam sweep across the water, just as he used to.
"""


def ink(text: str) -> str:
    """The story's non-whitespace characters after normalisation, in order."""
    return "".join(normalise(text).split())


def assert_scene_invariants(scenes: list[str], text: str, min_length: int, max_length: int) -> None:
    assert scenes, "a non-empty story gives at least one scene"
    for scene in scenes:
        assert 1 <= len(scene) <= max_length, (len(scene), scene)
        assert scene == scene.strip()
    assert "".join("".join(scenes).split()) == ink(text)


def test_the_sample_stories_are_realistic_lengths() -> None:
    assert 800 <= len(CHINESE_STORY) <= 3000
    assert 800 <= len(ENGLISH_STORY) <= 3000


def test_a_long_chinese_story_is_split_into_scenes_within_bounds() -> None:
    scenes = segment(CHINESE_STORY)

    assert_scene_invariants(scenes, CHINESE_STORY, 100, 280)
    assert len(scenes) >= 5
    assert all(len(scene) >= 100 for scene in scenes[:-1])


def test_a_long_english_story_is_split_into_scenes_within_bounds() -> None:
    scenes = segment(ENGLISH_STORY)

    assert_scene_invariants(scenes, ENGLISH_STORY, 100, 280)
    assert len(scenes) >= 8
    assert all(len(scene) >= 100 for scene in scenes[:-1])


def test_english_scenes_never_cut_a_word_in_half() -> None:
    words = set(normalise(ENGLISH_STORY).split())

    for scene in segment(ENGLISH_STORY):
        assert set(scene.split()) <= words


def test_a_chinese_paragraph_longer_than_the_maximum_is_cut_at_sentence_ends() -> None:
    paragraph = "他推開門，看見院子裡的桂花開了。" * 30  # 16 characters a sentence

    scenes = segment(paragraph)

    assert_scene_invariants(scenes, paragraph, 100, 280)
    assert all(scene.endswith("。") for scene in scenes)
    assert all(len(scene) >= 100 for scene in scenes)


def test_english_sentences_keep_their_terminator() -> None:
    paragraph = " ".join(
        f"Sentence number {n} ends here{'!' if n % 3 == 0 else '?' if n % 3 == 1 else '.'}"
        for n in range(40)
    )

    scenes = segment(paragraph)

    assert_scene_invariants(scenes, paragraph, 100, 280)
    assert all(scene[-1] in ".!?" for scene in scenes)
    assert all(scene.startswith("Sentence number") for scene in scenes)


def test_a_paragraph_that_fits_is_kept_as_one_scene() -> None:
    first = "海風吹過小鎮的街道，" * 12  # 120 characters
    second = "老師傅在廟口擺攤賣麥芽糖，" * 10  # 130 characters

    assert segment(f"{first}\n\n{second}") == [first, second]


def test_short_paragraphs_are_merged_with_the_following_ones_joined_by_a_newline() -> None:
    story = "第一章\n\n「你好。」\n\n" + "他點點頭，轉身走進了雨裡。" * 10

    scenes = segment(story)

    assert scenes == ["第一章\n「你好。」\n" + "他點點頭，轉身走進了雨裡。" * 10]


def test_a_short_paragraph_before_a_long_one_is_carried_into_its_first_scene() -> None:
    story = "Chapter One\n\n" + "The rain fell on the harbour all night long. " * 20

    scenes = segment(story)

    assert_scene_invariants(scenes, story, 100, 280)
    assert scenes[0].startswith("Chapter One\nThe rain fell")
    assert all(len(scene) >= 100 for scene in scenes[:-1])


def test_a_story_shorter_than_the_minimum_is_a_single_scene() -> None:
    assert segment("  從前從前，有一隻貓。  ") == ["從前從前，有一隻貓。"]


def test_a_short_tail_is_balanced_with_the_scene_before_it() -> None:
    paragraph = "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九。" * 10  # 300 characters

    scenes = segment(paragraph)

    assert_scene_invariants(scenes, paragraph, 100, 280)
    assert [len(scene) for scene in scenes] == [150, 150]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t \r\n", "\u3000\u3000"])
def test_an_empty_or_blank_story_is_refused(text: str) -> None:
    with pytest.raises(EmptyStory) as raised:
        segment(text)

    assert raised.value.field == "text"
    assert raised.value.detail == "story text is empty"


def test_a_2000_character_chinese_sentence_without_punctuation_is_cut_by_length() -> None:
    text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(2000))

    scenes = segment(text)

    assert_scene_invariants(scenes, text, 100, 280)
    assert "".join(scenes) == text
    assert all(len(scene) >= 100 for scene in scenes)


def test_2000_characters_of_english_words_without_punctuation_are_cut_at_spaces() -> None:
    rng = random.Random(7)
    vocabulary = ["harbour", "lantern", "a", "tide", "keeper", "stairs", "midnight", "of", "glass"]
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < 2000:
        words.append(rng.choice(vocabulary))
    text = " ".join(words)

    scenes = segment(text)

    assert_scene_invariants(scenes, text, 100, 280)
    assert [word for scene in scenes for word in scene.split()] == words
    assert all(len(scene) >= 100 for scene in scenes)


def test_a_single_word_longer_than_the_maximum_is_cut_hard() -> None:
    text = "x" * 700

    scenes = segment(text)

    assert_scene_invariants(scenes, text, 100, 280)


def test_an_over_long_chinese_sentence_is_split_at_commas() -> None:
    sentence = "，".join(["山路彎彎曲曲地繞過竹林與茶園"] * 40) + "。"  # 599 characters, one sentence

    scenes = segment(sentence)

    assert_scene_invariants(scenes, sentence, 100, 280)
    assert all(scene.endswith(("，", "。")) for scene in scenes)


def test_ascii_marks_inside_numbers_are_never_cut() -> None:
    text = " ".join(["Pi is about 3.14, and the hall held 1,000 people at 12:30."] * 30)
    tokens = set(text.split())

    scenes = segment(text, min_length=20, max_length=60)

    assert_scene_invariants(scenes, text, 20, 60)
    for scene in scenes:
        assert set(scene.split()) <= tokens


def test_full_width_digits_and_letters_are_normalised() -> None:
    assert normalise("２０２４年") == "2024年"
    assert normalise("ＡＢＣ　ｘｙｚ") == "ABC xyz"
    assert normalise("（第１集）：ＯＫ") == "(第1集):OK"


def test_chinese_sentence_punctuation_keeps_its_full_width_form() -> None:
    text = "真的嗎？好！是的；然後，還有、結束。"

    assert normalise(text) == text


def test_windows_line_ends_become_plain_newlines() -> None:
    assert normalise("一\r\n二\r三") == "一\n二\n三"


def test_scenes_come_out_normalised() -> None:
    scenes = segment("２０２４年，ＡＩ影片大賽開始了。")

    assert scenes == ["2024年，AI影片大賽開始了。"]


def test_full_width_terminators_split_sentences_after_normalisation() -> None:
    paragraph = "你聽見了嗎？那是海浪的聲音！我們快走吧；天要黑了。" * 12

    scenes = segment(paragraph, min_length=10, max_length=30)

    assert_scene_invariants(scenes, paragraph, 10, 30)
    assert all(scene[-1] in "？！；。" for scene in scenes)


def test_custom_bounds_are_respected() -> None:
    for text in (CHINESE_STORY, ENGLISH_STORY):
        for min_length, max_length in ((20, 60), (50, 120), (150, 400), (1, 2000)):
            scenes = segment(text, min_length=min_length, max_length=max_length)

            assert_scene_invariants(scenes, text, min_length, max_length)
            assert all(len(scene) >= min_length for scene in scenes[:-1]), (min_length, max_length)


def test_a_title_stays_alone_when_the_paragraph_after_it_only_fits_by_itself() -> None:
    # The title (34) and the first paragraph (470) do not fit together in 500, and
    # a paragraph that fits is never cut, so the title cannot reach the minimum.
    scenes = segment(ENGLISH_STORY, min_length=200, max_length=500)

    assert_scene_invariants(scenes, ENGLISH_STORY, 200, 500)
    assert scenes[0] == "The Lighthouse Keeper's Apprentice"
    assert scenes[1].startswith("The summer Maya turned twelve")
    assert all(len(scene) >= 200 for scene in scenes[1:-1])


def test_a_minimum_equal_to_the_maximum_still_keeps_fitting_paragraphs_whole() -> None:
    # Reaching the minimum would mean cutting paragraphs that fit: the paragraph rule wins.
    scenes = segment(CHINESE_STORY, min_length=280, max_length=280)

    assert_scene_invariants(scenes, CHINESE_STORY, 280, 280)
    assert "那一個小時，是阿海這輩子最長的一個小時。" in scenes[2]


def test_a_maximum_of_2000_keeps_the_whole_story_together() -> None:
    scenes = segment(CHINESE_STORY, min_length=1500, max_length=2000)

    assert_scene_invariants(scenes, CHINESE_STORY, 1500, 2000)
    assert len(scenes) == 1


@pytest.mark.parametrize(
    ("min_length", "max_length", "field"),
    [
        (0, 280, "min_length"),
        (-5, 280, "min_length"),
        (100, 2001, "max_length"),
        (100, 0, "max_length"),
        (300, 280, "min_length"),
        ("100", 280, "min_length"),
        (100, 280.0, "max_length"),
        (True, 280, "min_length"),
    ],
)
def test_invalid_bounds_are_refused_naming_the_field(
    min_length: object, max_length: object, field: str
) -> None:
    with pytest.raises(ValidationProblem) as raised:
        segment(CHINESE_STORY, min_length=min_length, max_length=max_length)  # type: ignore[arg-type]

    assert raised.value.field == field


def test_segmentation_is_deterministic() -> None:
    assert segment(CHINESE_STORY) == segment(CHINESE_STORY)
    assert segment(ENGLISH_STORY) == segment(ENGLISH_STORY)


def random_story(rng: random.Random) -> str:
    hanzi = "的一是在不了有和人這中大為上個國我以要他時來用們生到作地於出就分對成會可主發年動"
    words = ["the", "sea", "lantern", "3.14", "1,000", "don't", "Mr.", "e.g.", "ok", "night"]
    marks = ["。", "！", "？", "；", "，", "、", ".", "!", "?", ";", ",", "」", "「", "“", "”", "…", ":", "(", ")"]
    full_width = ["２", "０", "Ａ", "ｚ", "！", "？", "，", "；", "：", "（", "）", "　"]
    spaces = [" ", " ", "  ", "\n", "\n\n", "\n \n", "\t", "\r\n", "\r\n\r\n"]
    pieces: list[str] = []
    for _ in range(rng.randint(1, 120)):
        kind = rng.random()
        if kind < 0.35:
            pieces.append("".join(rng.choice(hanzi) for _ in range(rng.randint(1, 60))))
        elif kind < 0.6:
            pieces.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 15))))
        elif kind < 0.8:
            pieces.append(rng.choice(marks))
        elif kind < 0.88:
            pieces.append(rng.choice(full_width))
        elif kind < 0.9:
            pieces.append("z" * rng.randint(1, 400))  # a word that cannot be cut nicely
        else:
            pieces.append(rng.choice(spaces))
    return "".join(pieces)


def test_random_stories_keep_every_character_and_every_bound() -> None:
    rng = random.Random(20240601)
    for _ in range(300):
        text = random_story(rng)
        max_length = rng.choice([1, 2, 5, 17, 60, 100, 280, 281, 500, 2000])
        min_length = rng.randint(1, max_length)
        if not text.strip() or not ink(text):
            with pytest.raises(EmptyStory):
                segment(text, min_length, max_length)
            continue

        scenes = segment(text, min_length, max_length)

        assert_scene_invariants(scenes, text, min_length, max_length)
        assert segment(text, min_length, max_length) == scenes


def test_random_single_paragraphs_reach_the_minimum_in_every_scene_but_the_last() -> None:
    # One paragraph of Chinese text always has a break between characters, so
    # the minimum is reachable everywhere except, possibly, the story's end.
    rng = random.Random(42)
    hanzi = "山水風雨月花鳥雲海天地人心夢光"
    for _ in range(200):
        text = "".join(
            rng.choice(hanzi) if rng.random() < 0.9 else rng.choice("。！？；，、")
            for _ in range(rng.randint(1, 3000))
        )
        max_length = rng.randint(20, 400)
        min_length = rng.randint(1, max_length)

        scenes = segment(text, min_length, max_length)

        assert_scene_invariants(scenes, text, min_length, max_length)
        assert all(len(scene) >= min_length for scene in scenes[:-1])


def test_a_scene_text_within_bounds_has_no_warning() -> None:
    assert check_scene_text("字" * 150) == []


def test_a_short_scene_text_is_only_a_warning() -> None:
    assert check_scene_text("短短的一句話。") == ["scene text is shorter than 100 characters"]


def test_the_warning_follows_a_custom_minimum() -> None:
    assert check_scene_text("short", min_length=10, max_length=50) == [
        "scene text is shorter than 10 characters"
    ]


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_an_empty_scene_text_is_an_error(text: str) -> None:
    with pytest.raises(ValidationProblem) as raised:
        check_scene_text(text)

    assert raised.value.field == "text"


def test_a_scene_text_longer_than_the_maximum_is_an_error() -> None:
    with pytest.raises(ValidationProblem) as raised:
        check_scene_text("字" * 281)

    assert raised.value.field == "text"
    assert "280" in raised.value.detail


def test_a_scene_text_of_exactly_the_maximum_is_accepted() -> None:
    assert check_scene_text("字" * 280) == []


# -- the break search skips only positions `_priority` refuses (issue 17: set story's CPU) ---------

def test_regex_whitespace_is_exactly_str_isspace() -> None:
    """The candidate search reads whitespace with the regex `\\s`; `_priority` with `str.isspace`."""
    import re
    import sys

    pattern = re.compile(r"\s")
    differ = [c for c in range(sys.maxunicode + 1) if bool(pattern.match(chr(c))) != chr(c).isspace()]
    assert differ == []


_TRICKY = list("ab.,;!?。！？；，、…\"')]}”’」』）》〉】〕([“‘「—-:' \t\n\n\u3000\u2028\u00a0\x85\x1c3z字")


@pytest.mark.parametrize("least", [0, 1, 2, 3, 4])
def test_the_break_positions_are_those_of_asking_priority_at_every_position(least: int) -> None:
    from domain import segmentation as s

    rng = random.Random(17 + least)
    texts = [s.normalise(ENGLISH_STORY), s.normalise(CHINESE_STORY)]
    texts += ["".join(rng.choice(_TRICKY) for _ in range(rng.randint(2, 120))) for _ in range(3000)]
    for text in texts:
        every = [q for q in range(1, len(text)) if (p := s._priority(text, q)) is not None and p >= least]
        assert list(s._breaks(text, least)) == every, repr(text)
        assert s._has_break(text, least) == bool(every)


def test_cutting_a_4000_character_story_asks_priority_at_a_few_hundred_positions_only() -> None:
    """Request cost (issue 17): the suite's set-story text asked `_priority` 3,937 times, one per
    character of every paragraph longer than a scene (1.65 ms); now 86 times (0.34 ms)."""
    import sys
    from pathlib import Path

    from domain import segmentation as s

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from suite_scenarios import make_story

    calls = 0
    original = s._priority

    def counting(text: str, q: int) -> int | None:
        nonlocal calls
        calls += 1
        return original(text, q)

    s._priority = counting  # type: ignore[assignment]
    try:
        scenes = segment(make_story())
    finally:
        s._priority = original  # type: ignore[assignment]
    assert len(scenes) == 20
    assert calls < 300, calls
