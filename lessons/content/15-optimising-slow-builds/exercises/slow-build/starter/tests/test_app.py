import unittest

from app import app


class ShopTest(unittest.TestCase):
    def test_the_shop_is_open(self):
        response = app.test_client().get("/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.get_json()["shop"], "open")


if __name__ == "__main__":
    unittest.main()
