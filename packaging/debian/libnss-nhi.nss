passwd after=files nhi
group after=files nhi
