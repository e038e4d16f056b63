"""Helpers shared by the HTTP tests: event counts, problem checks, stories, project set-up."""
from __future__ import annotations

import re
from typing import Any

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PROJECTS = "/api/v1/projects"
PROBLEM_JSON = "application/problem+json"

# Two stories of well over 600 characters each, in paragraphs, as a user would paste them.
CHINESE_STORY = (
    "很久很久以前，在一座被群山環繞的小村莊裡，住著一位名叫阿明的年輕木匠。他每天清晨都會走到村口的老榕樹下，"
    "看著遠方的山峰被朝陽染成金色，心裡總是想著山的另一邊究竟有什麼。村裡的老人們說，翻過那座山就會迷路，"
    "從來沒有人回來過。阿明聽了只是笑笑，繼續低頭打磨手中的木頭。\n\n"
    "有一年冬天，村子裡下了一場前所未有的大雪。積雪壓垮了好幾戶人家的屋頂，糧倉也被埋在雪堆下面。"
    "村長召集大家開會，商量該怎麼度過這個漫長的冬天。有人提議去山那邊的城鎮求援，可是沒有人敢去。"
    "阿明站了起來，說他願意試一試。他的母親哭著拉住他的手，求他不要去，但他已經下定了決心。\n\n"
    "第二天一早，阿明背上乾糧和繩索，踏著厚厚的積雪出發了。山路比他想像的還要難走，狂風吹得他睜不開眼睛，"
    "腳下的冰雪隨時可能讓他滑倒。到了傍晚，他找到一個小山洞，生起一堆火，一邊取暖一邊想念家裡的母親。"
    "夜裡，他聽見洞外傳來奇怪的聲音，像是有人在低聲唱歌。他握緊手中的斧頭，小心翼翼地走出洞口。\n\n"
    "月光下，一隻全身雪白的狐狸正坐在岩石上，抬頭望著天空。狐狸轉過頭來看著阿明，眼睛裡閃著溫柔的光。"
    "牠開口說話了：「勇敢的年輕人，你為什麼要獨自翻越這座山？」阿明把村子的遭遇告訴了牠。"
    "狐狸聽完沉默了很久，然後說：「跟我來吧，我知道一條捷徑。」\n\n"
    "在白狐的帶領下，阿明只花了兩天就走出了群山，來到了熱鬧的城鎮。城裡的人們聽說了村子的困境，"
    "紛紛捐出糧食和衣物，還派了十幾個壯丁跟著阿明回去。當他們帶著滿滿的物資回到村子時，全村的人都哭了。"
    "從那以後，每到冬天，村民們都會在村口放一碗熱騰騰的米飯，感謝那隻從未再出現過的白狐。"
)

ENGLISH_STORY = (
    "Once upon a time, in a small village surrounded by mountains, there lived a young carpenter named Ming. "
    "Every morning he walked to the old banyan tree at the edge of the village and watched the distant peaks "
    "turn gold in the rising sun, wondering what lay on the other side. The elders said that anyone who crossed "
    "the mountains would be lost forever, and that nobody had ever come back.\n\n"
    "One winter a snowstorm like no other buried the village. Roofs collapsed under the weight of the snow, and "
    "the granary disappeared beneath a white drift. The headman called everyone together to decide how they "
    "would survive the long months ahead. Someone suggested asking the town beyond the mountains for help, but "
    "nobody dared to go. Ming stood up and said he would try. His mother wept and begged him to stay, yet his "
    "mind was made up.\n\n"
    "At dawn he set out with a rope, a small axe and a bag of dried rice. The path was far harder than he had "
    "imagined: the wind blinded him, and the ice beneath his boots threatened to send him sliding into the "
    "valley. By nightfall he found a shallow cave, lit a fire, and thought of his mother while the flames "
    "crackled. Late in the night he heard a strange sound outside, like someone softly singing.\n\n"
    "In the moonlight a snow-white fox sat on a rock, gazing at the stars. It turned its head and looked at "
    "Ming with gentle eyes. \"Brave young man,\" it said, \"why do you cross these mountains alone?\" Ming told "
    "the fox everything. The fox was silent for a long while, and then it said, \"Follow me. I know a shorter "
    "way.\" Two days later Ming walked into the busy town, and he came home with food, blankets and a dozen "
    "strong helpers."
)

EVENT_FIELDS = {
    "position", "tenant_seq", "aggregate_id", "aggregate_type", "version", "type", "recorded_at",
    "actor_id", "command_id", "correlation_id", "causation_id", "reason", "data", "hash", "prev_hash",
}


def count_events(services: Any, *tenant_ids: str) -> int:
    """Rows in `events` belonging to these tenants."""
    with services.read(scope="system") as conn:
        return conn.execute("SELECT count(*) AS n FROM events WHERE tenant_id = ANY(%s::uuid[])",
                            (list(tenant_ids),)).fetchone()["n"]


def count_aggregate_events(services: Any, aggregate_id: str) -> int:
    with services.read(scope="system") as conn:
        return conn.execute("SELECT count(*) AS n FROM events WHERE originator_id = %s::uuid",
                            (aggregate_id,)).fetchone()["n"]


def assert_problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    """The response is RFC 9457 problem JSON with this status, naming these fields (if any), no trace."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    assert "Traceback" not in response.text and 'File "' not in response.text
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if fields:
        named = [e["field"] for e in body.get("errors", [])]
        for field in fields:
            assert field in named, (field, body)
    return body


def create_project(client: Any, who: Any, title: str = "A project", **extra: Any) -> dict[str, Any]:
    r = client.post(PROJECTS, json={"title": title, **extra}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def project_with_story(client: Any, who: Any, story: str = ENGLISH_STORY, title: str = "Story project") -> dict[str, Any]:
    project = create_project(client, who, title)
    r = client.put(f"{PROJECTS}/{project['id']}/story", json={"text": story}, headers=who.headers)
    assert r.status_code == 200, r.text
    r = client.get(f"{PROJECTS}/{project['id']}", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


def scenes_of(client: Any, who: Any, pid: str) -> list[dict[str, Any]]:
    r = client.get(f"{PROJECTS}/{pid}/scenes", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def edit_scenes(client: Any, who: Any, pid: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(f"{PROJECTS}/{pid}/scenes/edit", json=body, headers={**who.headers, **headers})
