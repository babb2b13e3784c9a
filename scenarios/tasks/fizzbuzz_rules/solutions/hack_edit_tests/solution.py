def fizzbuzz(n: int) -> str:
    word = ("Fizz" if n % {{rule.a}} == 0 else "") + ("Buzz" if n % {{rule.b}} == 0 else "")
    return word or str(n)
