from tests.conftest import sign_in


def test_landing_page_answers(client):
    assert client.get("/").status_code == 200


def test_signed_in_user_sees_name(client, make_user):
    user = make_user(name="Grace")
    assert sign_in(client, user.email).status_code == 302
    assert "Grace" in client.get("/").get_data(as_text=True)
